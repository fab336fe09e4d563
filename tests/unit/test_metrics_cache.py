"""/metrics reuses its rendering for a while: checked with a clock the test moves."""

from __future__ import annotations

from ledger.ops.metrics import RenderCache


def test_rendering_is_reused_within_the_ttl_and_renewed_after() -> None:
    now = [100.0]
    cache = RenderCache(5.0, clock=lambda: now[0])
    renders = []

    def render() -> str:
        renders.append(now[0])
        return f"rendered at {now[0]}"

    assert cache.get(render) == "rendered at 100.0"
    now[0] = 104.9
    assert cache.get(render) == "rendered at 100.0"
    now[0] = 105.0
    assert cache.get(render) == "rendered at 105.0"
    assert renders == [100.0, 105.0]
