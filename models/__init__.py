"""SQLModel tables and the domain rules that live on the data: the agency registry,
the reporting calendar (periods, deadlines, working days, reminder ladder), report
cycles and submissions, the administrator's review gate (``models.review``) and edits
(``models.edits``) with their deadline syntax (``models.deadline_rule``). No Prefect,
no web."""
