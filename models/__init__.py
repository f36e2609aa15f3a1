"""SQLModel tables and the domain rules that live on the data (issue 3)."""
