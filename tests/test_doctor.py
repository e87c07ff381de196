"""`python -m course_lib doctor` reports the machine and exits non-zero with a fix when something is missing."""

import io
import subprocess
import sys

from course_lib import doctor


def test_doctor_passes_on_this_machine():
    out = subprocess.run([sys.executable, "-m", "course_lib", "doctor"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    for expected in ("python", "torch", "device", "MNIST (embedded)", "EKG (synthetic)", "widget extension", "flashcard keys", "All good"):
        assert expected in out.stdout


def test_missing_package_fails_with_fix():
    findings = doctor.check_packages(["numpy", "surely-not-a-real-package-xyz"])
    buf = io.StringIO()
    status = doctor.report(findings, out=buf)
    assert status == 1
    text = buf.getvalue()
    assert "surely-not-a-real-package-xyz" in text and "not installed" in text
    assert "pip install -e ." in text


def test_missing_widget_extension_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor, "labextension_dirs", lambda: [tmp_path])
    findings = doctor.check_jupyterlab()
    widget = [f for f in findings if f.name == "widget extension"][0]
    assert not widget.ok and "jupyterlab_widgets" in widget.fix


def test_missing_keyboard_extension_is_optional(monkeypatch, tmp_path):
    (tmp_path / doctor.WIDGET_EXTENSION).mkdir(parents=True)
    (tmp_path / doctor.WIDGET_EXTENSION / "package.json").write_text("{}")
    monkeypatch.setattr(doctor, "labextension_dirs", lambda: [tmp_path])
    findings = doctor.check_jupyterlab()
    keys = [f for f in findings if f.name == "flashcard keys"][0]
    assert not keys.ok and not keys.required
    buf = io.StringIO()
    assert doctor.report(findings, out=buf) == 0  # optional: still "All good"
    assert "Optional, flashcard keys: run `pip install ipyevents`" in buf.getvalue()


def test_broken_data_loader_is_reported(monkeypatch):
    def broken():
        raise OSError("file is truncated")

    finding = doctor._try("MNIST (embedded)", broken)
    assert not finding.ok and "truncated" in finding.detail and "pip install" in finding.fix


def test_report_writes_to_the_current_stdout(capsys):
    doctor.report([doctor.Finding("python", True, "3.11")])
    assert "python" in capsys.readouterr().out
