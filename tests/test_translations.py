"""Chinese is the default language: every string the UI shows must have a reviewed translation."""
import pathlib
import subprocess
import sys

from babel.messages.pofile import read_po

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_ui_string_has_a_chinese_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-o", str(template), "."], cwd=ROOT, check=True, capture_output=True)
    with open(template, "rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with open(ROOT / "kiosk/translations/zh/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle, locale="zh")
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    assert sorted(str(i) for i in wanted - translated) == []
