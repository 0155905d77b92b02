"""`exoniche evidence ...`: search, show, stats and graph export of the review's claims."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from exoniche import evidence
from exoniche.cli._common import JSON_OPTION, console, print_json

app = typer.Typer(help="The review's claims as data: search, show, stats, graph.", no_args_is_help=True)


def _model_citations() -> dict[str, list[str]] | None:
    """Claim ids cited by each model term, if the biology layer is available."""
    try:
        from exoniche.biology import claim_citations
    except ImportError:
        return None
    return claim_citations()


def _claims_table(claims, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("id", "section", "subject", "relation", "object", "effect", "refs"):
        table.add_column(col, overflow="fold")
    for c in claims:
        effect = c.direction + (f" {c.size}" if c.size else "")
        table.add_row(c.id, c.section, c.subject, c.relation, c.object, effect, ",".join(map(str, c.refs)))
    return table


@app.command()
def search(
    text: str = typer.Argument(..., help='Text to find in subject, object or context, e.g. "ITGβ4" or "PD-L1".'),
    json_: bool = JSON_OPTION,
) -> None:
    """Find claims mentioning TEXT (case-, punctuation- and Greek-letter-insensitive)."""
    hits = evidence.search(text)
    if json_:
        print_json({"query": text, "n": len(hits), "claims": [c.to_dict() for c in hits]})
        return
    if not hits:
        console.print(f"no claim mentions {text!r}")
        return
    console.print(_claims_table(hits, f"{len(hits)} claims mentioning {text!r}"))


@app.command()
def show(
    claim_id: str = typer.Argument(..., help="Claim id, e.g. ORG-07."),
    json_: bool = JSON_OPTION,
) -> None:
    """Show one claim in full, with the model terms that cite it."""
    claim = evidence.get_claim(claim_id)
    cites = _model_citations() or {}
    used_by = sorted(term for term, ids in cites.items() if claim.id in ids)
    if json_:
        print_json({**claim.to_dict(), "model_terms": used_by})
        return
    console.print(f"[bold]{claim.id}[/] ({claim.section})")
    console.print(claim.sentence())
    if claim.context:
        console.print("context: " + "; ".join(f"{k}={v}" for k, v in claim.context.items()))
    if claim.quote:
        console.print(f'review: "{claim.quote}"')
    console.print("model terms: " + (", ".join(used_by) if used_by else "none yet"))


@app.command()
def stats(json_: bool = JSON_OPTION) -> None:
    """Claims per section and relation, and the claims that no model term uses yet."""
    result = evidence.stats(cited_by=_model_citations())
    if json_:
        print_json(result)
        return
    console.print(f"[bold]{result['n_claims']} claims[/] citing {len(result['references_cited'])} references")
    table = Table("section", "claims")
    for section, n in result["sections"].items():
        table.add_row(section, str(n))
    console.print(table)
    table = Table("relation", "claims")
    for relation, n in result["relations"].items():
        table.add_row(relation, str(n))
    console.print(table)
    if "claims_without_model_term" in result:
        gaps = result["claims_without_model_term"]
        console.print(
            f"{result['n_claims_used_by_model']} claims are encoded by model terms; "
            f"{len(gaps)} are not yet: {', '.join(gaps)}"
        )


@app.command()
def graph(
    out: Path = typer.Option(..., "--out", help="File to write."),
    fmt: str = typer.Option("graphml", "--format", help="graphml or json (node-link)."),
    json_: bool = JSON_OPTION,
) -> None:
    """Export the claims as a graph of entities and relations."""
    path = evidence.write_graph(out, fmt)
    g = evidence.build_graph()
    summary = {"path": str(path), "format": fmt, "nodes": g.number_of_nodes(), "edges": g.number_of_edges()}
    if json_:
        print_json(summary)
    else:
        console.print(f"wrote {path} ({summary['nodes']} entities, {summary['edges']} relations)")


def register(parent: typer.Typer) -> None:
    """Add the ``evidence`` command group to ``parent``."""
    parent.add_typer(app, name="evidence")
