"""Page helpers for driving JupyterLab and Voilà like a learner does.

JupyterLab runs with ``expose_app_in_browser`` so ``window.jupyterapp`` gives
the command registry (the same commands the menus call) and the current
notebook panel, whose kernel status tells when execution is over.
"""

from __future__ import annotations

import json
import re

from . import _servers

# JupyterLab 4 renders both stderr streams and error outputs (tracebacks) with this MIME type.
ERROR_OUTPUT_SELECTOR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR_TEXT = re.compile(r"Traceback|Error\b|Exception\b")

_CURRENT_PANEL_JS = """
() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  return w && w.content && w.sessionContext ? w : null;
}
"""


def open_in_lab(page, server: _servers.Server, path: str, workspace: str) -> None:
    """Open notebook ``path`` in a fresh workspace and wait until its kernel is idle."""
    assert (server.root_dir / path).is_file(), f"{path} is missing from the course (looked in {server.root_dir})"
    url = server.url(f"lab/workspaces/{workspace}/tree/{path}", reset="")
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_function(
        f"""() => {{
          const w = ({_CURRENT_PANEL_JS})();
          return w && w.context.path === {json.dumps(path)} && w.content.widgets.length > 0;
        }}""",
        timeout=60_000,
    )
    wait_kernel_idle(page, timeout=90_000)


def wait_kernel_idle(page, timeout: float = 120_000) -> None:
    """Wait until the current notebook's kernel is ready and idle."""
    page.wait_for_function(
        f"""() => {{
          const w = ({_CURRENT_PANEL_JS})();
          const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
          return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
        }}""",
        timeout=timeout,
        polling=250,
    )


def run_all_cells(page, timeout: float = 240_000) -> None:
    """Run every cell (Run ▸ Run All Cells) and wait until the kernel is idle again."""
    page.evaluate(
        """() => {
          window.__convcourseRunAllDone = false;
          const done = () => { window.__convcourseRunAllDone = true; };
          window.jupyterapp.commands.execute('notebook:run-all-cells').then(done, done);
        }"""
    )
    page.wait_for_function("() => window.__convcourseRunAllDone === true", timeout=timeout, polling=500)
    wait_kernel_idle(page, timeout=timeout)
    wait_no_pending_cells(page, timeout=timeout)


def wait_no_pending_cells(page, timeout: float = 120_000) -> None:
    """Wait until no input prompt shows ``[*]`` (queued or running)."""
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
        ".some(p => p.textContent.includes('*'))",
        timeout=timeout,
        polling=250,
    )


def cell_sources(page) -> list[dict]:
    """Type and source of every cell of the current notebook, in order."""
    return page.evaluate(
        f"""() => {{
          const w = ({_CURRENT_PANEL_JS})();
          return w.content.widgets.map(c => ({{type: c.model.type, source: c.model.sharedModel.getSource(),
                                               metadata: c.model.sharedModel.getMetadata()}}));
        }}"""
    )


def select_cell(page, index: int) -> None:
    """Make cell ``index`` the active cell and scroll it into view."""
    page.evaluate(
        f"""async (i) => {{
          const w = ({_CURRENT_PANEL_JS})();
          w.content.activeCellIndex = i;
          w.content.mode = 'command';
          await w.content.scrollToItem(i);
        }}""",
        index,
    )


def run_cell(page, index: int, timeout: float = 120_000) -> None:
    """Run cell ``index`` alone (like Ctrl+Enter) and wait for it to finish."""
    select_cell(page, index)
    page.evaluate(
        "async () => { await window.jupyterapp.commands.execute('notebook:run-cell'); }"
    )
    wait_kernel_idle(page, timeout=timeout)
    wait_no_pending_cells(page, timeout=timeout)


def cell_locator(page, index: int):
    """Locator of the ``index``-th cell of the current notebook (tagged through the notebook model)."""
    page.evaluate(
        f"""(i) => {{
          const w = ({_CURRENT_PANEL_JS})();
          w.content.widgets.forEach((c, j) => c.node.setAttribute('data-convcourse-cell', String(j)));
        }}""",
        index,
    )
    return page.locator(f'.jp-NotebookPanel:not(.lm-mod-hidden) [data-convcourse-cell="{index}"]')


def replace_cell_source_by_typing(page, index: int, text: str) -> None:
    """Click into cell ``index``'s editor, select all and type ``text`` (as pasted input)."""
    select_cell(page, index)
    editor = cell_locator(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # insert_text sends the text as one input event (like a paste), so the
    # editor's auto-indent does not re-indent the lines we type.
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")


def error_outputs(page) -> list[str]:
    """Texts of output areas that show a traceback or an error on stderr."""
    texts = page.eval_on_selector_all(ERROR_OUTPUT_SELECTOR, "els => els.map(e => e.innerText)")
    return [t for t in texts if ERROR_TEXT.search(t)]

