"""IC card reader drivers: transport -> PN532 frames -> chipset commands -> CardReader."""
