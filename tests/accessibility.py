"""axe-core in the page Selenium has open: the serious and critical violations, readably.

axe-core is a pinned devDependency of web/ (web/package-lock.json), installed by scripts/build_web.sh
(`npm ci`). Its axe.min.js is read from web/node_modules and injected as script text through the
WebDriver protocol (never loaded from a URL, so no network and no Content-Security-Policy exception).
"""
from pathlib import Path
from typing import Dict, List, Optional

import pytest

AXE = Path(__file__).resolve().parent.parent / "web" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

# axe.run(context, options) in the page; the callback gets the violations or the error's text.
_RUN = """
var done = arguments[arguments.length - 1];
var context = arguments[0] || document;
window.axe.run(context, {resultTypes: ["violations"]}).then(function (results) {
  done({violations: results.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(function (n) {
              return {impact: n.impact, target: n.target, summary: n.failureSummary || ""};
            })};
  })});
}, function (error) { done({error: String(error && error.stack || error)}); });
"""


def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run scripts/build_web.sh (it installs web/node_modules with npm ci)")
    return AXE.read_text(encoding="utf-8")


def serious_violations(driver, context: Optional[str] = None) -> List[Dict]:
    """Runs axe-core on the current page (or only inside the CSS selector `context`); returns the
    violations of impact serious or critical, each with the nodes that have them."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(axe_source())
    driver.set_script_timeout(60)
    result = driver.execute_async_script(_RUN, context)
    if result.get("error"):
        pytest.fail(f"axe.run failed: {result['error']}")
    return [violation for violation in result["violations"] if violation["impact"] in BLOCKING]


def describe(violations: List[Dict]) -> str:
    """One paragraph a rule: its id, impact and help, then each failing element's selector and why."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            target = " >> ".join(" ".join(part) if isinstance(part, list) else part for part in node["target"])
            summary = " ".join(node["summary"].split())
            lines.append(f"    {target}" + (f"\n      {summary}" if summary else ""))
    return "\n".join(lines)


def assert_accessible(driver, what: str, context: Optional[str] = None) -> None:
    """Fails with axe-core's serious and critical violations on the page, listed readably."""
    violations = serious_violations(driver, context)
    assert not violations, f"axe-core: serious or critical violations on {what}:\n{describe(violations)}"
