"""Banknote acceptor: ccTalk bill validator."""
