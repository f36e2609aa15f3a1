"""`hanbaocao holidays`: the year's days off, which are only "dự kiến", and confirming them.

An administrator's confirmations go to ``<data dir>/holiday-overrides.yaml`` (the format
of ``models/data/holiday-overrides.yaml``), read on top of the packaged file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from cli.data import fail
from models.formats import day_text

holidays_app = typer.Typer(
    rich_markup_mode="markdown", help="Ngày nghỉ lễ, tết; ngày nghỉ dự kiến và xác nhận."
)
out = Console()
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
TOPICS = {"tet": "Tết Nguyên đán", "quoc-khanh": "ngày nghỉ liền kề Quốc khánh 2/9"}


@holidays_app.command("list")
def list_days(
    year: Annotated[int, typer.Option(help="Năm (mặc định: năm nay).")] = 0,
) -> None:
    """Các ngày nghỉ và ngày làm bù của một năm; ngày nghỉ dự kiến kèm lý do."""
    from models.clock import now
    from models.db import TZ
    from models.workdays import packaged_calendar

    year = year or now().astimezone(TZ).year
    if not 1900 <= year <= 2200:
        fail(f"năm {year} không hợp lệ (1900–2200)")
    cal = packaged_calendar()
    provisional = cal.provisional_days(year)
    table = Table(title=f"Ngày nghỉ năm {year}")
    for column in ("Ngày", "Thứ", "Tên", "Tình trạng", "Căn cứ"):
        table.add_column(column)
    day = dt.date(year, 1, 1)
    while day.year == year:
        name = cal.holiday_name(day)
        if name is not None:
            entry = provisional.get(day)
            state = "[yellow]dự kiến[/]" if entry else "chính thức"
            source = entry.source if entry else _source(cal, day)
            table.add_row(day_text(day), WEEKDAYS[day.weekday()], name, state, source)
        elif day in cal.overrides.work:
            work = cal.overrides.work[day]
            table.add_row(day_text(day), WEEKDAYS[day.weekday()], work.name, "làm bù", work.source)
        day += dt.timedelta(days=1)
    out.print(table)
    if provisional:
        out.print(
            f"{len(provisional)} ngày nghỉ dự kiến: hạn báo cáo phụ thuộc các ngày này được ghi "
            "“dự kiến”. Xác nhận: hanbaocao holidays confirm …"
        )


def _source(cal: Any, day: dt.date) -> str:
    entry = cal.overrides.off.get(day)
    return entry.source if entry else "Bộ luật Lao động 2019, Điều 112 (thư viện holidays)"


@holidays_app.command("confirm")
def confirm(
    source: Annotated[str, typer.Option(help="Văn bản căn cứ (số, ngày, cơ quan ban hành).")],
    day: Annotated[
        str | None, typer.Option("--day", help="Xác nhận một ngày nghỉ (YYYY-MM-DD).")
    ] = None,
    tet: Annotated[int | None, typer.Option(help="Xác nhận lịch nghỉ Tết của năm.")] = None,
    quoc_khanh: Annotated[
        int | None, typer.Option(help="Xác nhận ngày nghỉ liền kề 2/9 của năm.")
    ] = None,
) -> None:
    """Xác nhận ngày nghỉ dự kiến theo văn bản đã ban hành (ghi vào thư mục dữ liệu)."""
    from models.workdays import local_overrides_path

    source = " ".join(source.split())
    if not source:
        fail("cần --source: văn bản căn cứ của ngày nghỉ")
    if sum(x is not None for x in (day, tet, quoc_khanh)) != 1:
        fail("chọn đúng một trong --day, --tet, --quoc-khanh")
    path = local_overrides_path()
    data = _read(path)
    if day is not None:
        what = _confirm_day(data, day, source)
    else:
        topic, year = ("tet", tet) if tet is not None else ("quoc-khanh", quoc_khanh)
        assert year is not None
        if not 1900 <= year <= 2200:
            fail(f"năm {year} không hợp lệ (1900–2200)")
        data.setdefault(year, {}).setdefault("decided", {})[topic] = source
        what = f"{TOPICS[topic]} năm {year}"
    _write(path, data)
    out.print(f"Đã xác nhận {what} theo: {source}. Tệp: {path}")


def _confirm_day(data: dict[Any, Any], text: str, source: str) -> str:
    from models.workdays import packaged_calendar

    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        fail(f"ngày {text!r} không hợp lệ: dùng dạng YYYY-MM-DD, ví dụ 2026-11-24")
    entry = packaged_calendar().provisional_days(day.year).get(day)
    if entry is None:
        fail(f"{day_text(day)} không phải ngày nghỉ dự kiến (xem: hanbaocao holidays list)")
    off = data.setdefault(day.year, {}).setdefault("off", [])
    off[:] = [e for e in off if str(e.get("date")) != day.isoformat()]
    off.append({"date": day.isoformat(), "name": entry.name, "source": source})
    return f"ngày nghỉ {day_text(day)} ({entry.name})"


def _read(path: Path) -> dict[Any, Any]:
    from models.workdays import HolidayOverrides
    from models.yaml_data import load_yaml

    if not path.is_file():
        return {}
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
        HolidayOverrides.from_data(data)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        fail(f"không đọc được {path}: {exc}")
    if not isinstance(data, dict):
        fail(f"{path} không đúng định dạng (cần một bảng theo năm)")
    return data


def _write(path: Path, data: dict[Any, Any]) -> None:
    from models.workdays import HolidayOverrides, packaged_calendar
    from notifications.exports import atomic_write

    HolidayOverrides.from_data(data)  # never write what would not load
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=True)
    atomic_write(path, text.encode("utf-8"))
    packaged_calendar.cache_clear()
