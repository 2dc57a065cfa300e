from diswot.cli import main

main()
