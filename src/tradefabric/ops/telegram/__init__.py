"""Telegram in front of the control service: commands, confirmations and alerts."""
