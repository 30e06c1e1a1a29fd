"""``sagebox demo`` (the end-to-end walkthrough) and ``sagebox evaluate`` (train A, test B)."""

from __future__ import annotations

from pathlib import Path

import typer

from sagebox.cli._output import JsonOption, console, print_json, progress
from sagebox.cli._params import parse_hyperparameters


def demo(
    data: Path | None = typer.Option(None, "--data", help="Raw review CSV (default: synthetic)."),
    rows: int = typer.Option(6000, "--rows", min=100, help="Synthetic reviews to generate."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic data and the split."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Endpoint port."),
    algorithm: str = typer.Option(
        "linear-text", "--algorithm", help="Built-in algorithm the training job fits."
    ),
    hyperparameter: list[str] = typer.Option(
        [], "--hyperparameter", "-H", help="Algorithm hyperparameter NAME=VALUE (repeatable)."
    ),
    deployment: bool = typer.Option(
        False, "--deployment", help="Also A/B test, canary-roll back, autoscale, batch-score."
    ),
    feature_store: bool = typer.Option(
        False,
        "--feature-store",
        help="Engineer tokenized features into a feature group, train on a point-in-time "
        "training set, look reviews up online by id at the endpoint.",
    ),
    tune: int = typer.Option(
        0,
        "--tune",
        min=0,
        max=50,
        metavar="TRIALS",
        help="Tune the baseline: a tuning job of TRIALS training jobs (2 at a time) instead "
        "of one; its best model is evaluated and served.",
    ),
    json_output: bool = JsonOption,
) -> None:
    """Run the product-review sentiment lifecycle end to end and print a summary."""
    from sagebox.demo import demo_steps, run_demo
    from sagebox.session import Session

    total = len(demo_steps(feature_store, tune))
    if deployment:
        from sagebox.demo import DEPLOYMENT_STEPS

        total += len(DEPLOYMENT_STEPS)
    with progress(enabled=True) as prog:
        task = prog.add_task("starting", total=total)
        seen: list[str] = []

        def on_step(step: str) -> None:
            if seen:
                prog.advance(task)
            seen.append(step)
            prog.update(task, description=step)

        result = run_demo(
            Session(),
            data=data,
            rows=rows,
            seed=seed,
            port=port,
            on_step=on_step,
            algorithm=algorithm,
            hyperparameters=parse_hyperparameters(hyperparameter, None),
            deployment=deployment,
            feature_store=feature_store,
            tune_trials=tune,
        )
        prog.advance(task)
        prog.update(task, description="done")
    if json_output:
        print_json(result)
        return
    _print_summary(result)
    if feature_store:
        _print_lookups(result)
    if deployment:
        _print_deployment(result.deployment)


def _print_lookups(result: object) -> None:
    from sagebox.demo import DemoResult

    assert isinstance(result, DemoResult)
    console.print(
        f"\n[bold]feature store[/bold]: trained on a point-in-time training set of feature "
        f"group '{result.feature_group}'; the endpoint looked these reviews up online by id:"
    )
    for p in result.lookups:
        console.print(f"  review_id {p['review_id']:>6}  {p['label_name']:>8}")


def _print_deployment(d: dict) -> None:  # type: ignore[type-arg]
    ab = d["ab_test"]
    console.print(f"\n[bold]A/B test[/bold] ({ab['requests']} test reviews, 50/50):")
    for name, v in ab["variants"].items():
        console.print(f"  {name}: {v['share']:.0%} of traffic, accuracy {v['accuracy']:.3f}")
    console.print(f"  winner: {ab['winner']}")
    canary = d["canary"]
    console.print(
        f"[bold]canary[/bold]: {canary['status']} after "
        f"{canary['seconds_from_fault_to_rollback']:.1f} s ({canary['reason']})"
    )
    scaling = d["autoscaling"]
    console.print(
        f"[bold]autoscaling[/bold]: {scaling['instances']} instances after "
        f"{scaling['requests']} requests in {scaling['seconds']:.1f} s"
    )
    batch = d["batch_transform"]
    console.print(
        f"[bold]batch transform[/bold]: {int(batch.get('records', 0))} reviews, "
        f"{batch.get('records_per_second', 0):.0f} reviews/s -> "
        f"{', '.join(batch['outputs'].values())}"
    )


def _print_summary(result: object) -> None:
    from rich.table import Table

    from sagebox.demo import DemoResult

    assert isinstance(result, DemoResult)
    ev = result.evaluation
    console.print(
        f"\n[bold]sagebox demo[/bold]: {result.raw_rows} raw reviews, {result.seconds:.1f} s"
    )
    console.print(f"  raw table   {result.raw_table} ({result.raw_uri})", highlight=False)
    for step, job in result.jobs.items():
        console.print(f"  {step:<11} job {job}")
    console.print(f"  model       {result.model_name}")
    console.print(f"  evaluation  {result.evaluation_uri}")
    console.print(
        f"\n[bold]test accuracy[/bold] {ev['accuracy']:.3f}   "
        f"[bold]macro-F1[/bold] {ev['macro_f1']:.3f}   (n={ev['support']})"
    )
    table = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        table.add_column(col)
    for label, m in ev["per_class"].items():
        table.add_row(
            label,
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            str(m["support"]),
        )
    console.print(table)
    console.print(
        f"confusion matrix (rows true {ev['confusion_matrix']['labels']}): "
        f"{ev['confusion_matrix']['matrix']}"
    )
    console.print(f"\n[bold]endpoint[/bold] {result.endpoint_url} answered (now stopped):")
    for p in result.predictions:
        console.print(f"  {p['label_name']:>8}  {p['review_body']}")


def evaluate(
    train: Path = typer.Option(..., "--train", help="Raw-format CSV to train on (all of it)."),
    test: Path = typer.Option(..., "--test", help="Raw-format CSV to evaluate on, untouched."),
    algorithm: str = typer.Option("linear-text", "--algorithm", help="Built-in algorithm name."),
    hyperparameter: list[str] = typer.Option(
        [], "--hyperparameter", "-H", help="Algorithm hyperparameter NAME=VALUE (repeatable)."
    ),
    validation_fraction: float = typer.Option(
        0.1,
        "--validation-fraction",
        min=0.0,
        max=0.5,
        help="Share of --train held out for validation figures.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the validation hold-out and training."),
    include_title: bool = typer.Option(
        False,
        "--include-title",
        help="Put each review's Title before its text (both files), instead of the text alone.",
    ),
    json_output: bool = JsonOption,
) -> None:
    """Train on one raw review file and report test metrics on another.

    With --json the last line of output is one JSON object with accuracy, macro_f1,
    per_class and confusion_matrix for the test file.
    """
    from sagebox.training.holdout import train_and_evaluate

    with progress(enabled=True) as prog:
        task = prog.add_task("evaluating", total=4)

        def on_step(step: str) -> None:
            prog.update(task, description=step)
            prog.advance(task)

        report = train_and_evaluate(
            train,
            test,
            algorithm=algorithm,
            hyperparameters=parse_hyperparameters(hyperparameter, None),
            validation_fraction=validation_fraction,
            seed=seed,
            include_title=include_title,
            on_step=on_step,
        )
    if json_output:
        print_json(report)
        return
    console.print(f"[bold]{algorithm}[/bold] trained on {report['train_rows']} reviews of {train}")
    if report.get("validation"):
        console.print(f"validation accuracy {report['validation']['accuracy']:.3f}")
    console.print(
        f"[bold]test[/bold] ({test}, n={report['support']}): accuracy "
        f"{report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}"
    )
    for label, m in report["per_class"].items():
        console.print(
            f"  {label:>2}: precision {m['precision']:.3f} recall {m['recall']:.3f} "
            f"f1 {m['f1']:.3f} (n={m['support']})"
        )
    console.print(f"confusion matrix: {report['confusion_matrix']['matrix']}")
