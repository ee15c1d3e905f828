"""QR payment gateways: the sandbox gateway client, request/notification signing, a notification listener."""
