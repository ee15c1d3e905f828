"""Payment sessions without a database: cash (banknote acceptor) and QR (gateway) journeys."""
