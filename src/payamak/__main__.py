from payamak.cli import main

main()
