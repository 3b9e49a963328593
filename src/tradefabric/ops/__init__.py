"""Operations: reports for people (daily report)."""
