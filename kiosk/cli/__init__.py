"""The `kiosk` command: one module per subcommand group, registered in kiosk.cli.main."""
