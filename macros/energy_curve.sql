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

{#- int_energy_curve: whether the interval from a reading (relation `segment`: is_gap_marker, ts_us,
    next_ts_us) to the next one is covered, given its meter's gap limit (relation `limits`:
    gap_limit_us, null = no length limit): not after a gap marker, not the last reading, and not
    longer than the limit (false, or null where is_gap_marker is null: wrap it in coalesce). -#}
{% macro covered_interval(segment, limits) -%}
    not {{ segment }}.is_gap_marker
    and {{ segment }}.next_ts_us is not null
    and ({{ limits }}.gap_limit_us is null or {{ segment }}.next_ts_us - {{ segment }}.ts_us <= {{ limits }}.gap_limit_us)
{%- endmacro %}
