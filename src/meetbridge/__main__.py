from meetbridge.cli.main import main

main()
