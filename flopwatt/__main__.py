from flopwatt.cli import main

main()
