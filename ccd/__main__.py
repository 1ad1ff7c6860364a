from ccd.cli import main

main()
