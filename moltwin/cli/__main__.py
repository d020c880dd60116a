from moltwin.cli import main

main()
