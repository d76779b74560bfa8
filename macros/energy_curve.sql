{#- Evaluating the cumulative energy curve (int_energy_curve) at an instant: the curve's value at the
    reading at or before the instant (energy_j, exact decimal) plus the held / interpolated energy
    from that reading to the instant (the remainder). int_run_energy and int_run_carbon both use it.
    The remainder is computed in double from the microsecond difference: squaring the bigint
    difference overflowed 64 bits for instants more than ~3,037 s after the reading (Home Assistant
    records changes only, so hour-long holds are routine). -#}

{#- E(at) - E(ts) between a reading at ts_us (rate_w, slope_w_per_us) and an instant at_us >= ts_us:
    dt * (rate + dt * slope / 2) / 1e6 J with dt = at - ts in us (0 when at is not after ts). -#}
{% macro curve_remainder_j(at_us, ts_us, rate_w, slope_w_per_us) -%}
    case
        when {{ at_us }} > {{ ts_us }}
            then
                cast({{ at_us }} - {{ ts_us }} as double)
                * ({{ rate_w }} + cast({{ at_us }} - {{ ts_us }} as double) * {{ slope_w_per_us }} / 2)
                / 1e6
        else 0
    end
{%- endmacro %}

{#- E(at) in J (double): the curve value energy_j at the reading at ts_us plus the remainder. -#}
{% macro curve_energy_at(at_us, ts_us, energy_j, rate_w, slope_w_per_us) -%}
    cast({{ energy_j }} as double) + {{ curve_remainder_j(at_us, ts_us, rate_w, slope_w_per_us) }}
{%- endmacro %}
