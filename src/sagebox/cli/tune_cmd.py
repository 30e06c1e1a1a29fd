"""``sagebox tune``: hyperparameter tuning jobs (SageMaker Automatic Model Tuning).

A thin layer over :mod:`sagebox.tuning`: ``create`` builds a :class:`HyperparameterTuner`
from the options (every check runs before anything starts) and, with ``--wait``, shows the
trials live; ``describe``, ``list``, ``stop``, ``trials``, ``best`` and ``report`` read or
control an existing tuning job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sagebox.cli._output import JsonOption, console, print_json, print_table
from sagebox.cli._params import parse_hyperparameters, parse_job_status, parse_pairs
from sagebox.cli._tune_views import (
    follow,
    format_pairs,
    format_value,
    print_outcome,
    print_summary,
    trials_table,
)

if TYPE_CHECKING:
    from sagebox.backends.metadata.base import JobRecord
    from sagebox.tuning import HyperparameterTuner

app = typer.Typer(
    help="Hyperparameter tuning jobs: search a training job's hyperparameters with trials.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    objective: list[str] = typer.Option(
        ...,
        "--objective",
        help="Metric the trials emit to optimize, e.g. validation:macro_f1 (repeat for a "
        "multi-objective search with a Pareto front).",
    ),
    objective_type: list[str] = typer.Option(
        [],
        "--objective-type",
        help="Maximize (default) or Minimize; the n-th goes with the n-th --objective.",
    ),
    hp_range: list[str] = typer.Option(
        [],
        "--range",
        "-R",
        help="Tuned hyperparameter: NAME=LOW:HIGH[:linear|log|revlog] (continuous), "
        "NAME=LOW..HIGH[:log] (integer) or NAME=A,B,C (categorical). Repeatable.",
    ),
    strategy: str = typer.Option(
        "Bayesian", "--strategy", help="Random, Bayesian, Grid (categorical only) or Hyperband."
    ),
    max_jobs: int | None = typer.Option(
        None, "--max-jobs", help="Trials in all (default 1; Grid: every combination)."
    ),
    max_parallel_jobs: int = typer.Option(1, "--max-parallel-jobs", help="Trials at once."),
    max_runtime: float | None = typer.Option(
        None, "--max-runtime", help="Seconds the whole tuning job may run."
    ),
    early_stopping: str = typer.Option(
        "Off", "--early-stopping", help="Off, or Auto (SageMaker's median rule per epoch)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed of the search."),
    min_resource: int | None = typer.Option(
        None, "--min-resource", help="Hyperband: fewest epochs a trial gets (default 1)."
    ),
    max_resource: int | None = typer.Option(
        None, "--max-resource", help="Hyperband: most epochs (default: the epochs hyperparameter)."
    ),
    warm_start_type: str | None = typer.Option(
        None,
        "--warm-start-type",
        help="IdenticalDataAndAlgorithm or TransferLearning (with --parent).",
    ),
    parent: list[str] = typer.Option(
        [], "--parent", help="Finished parent tuning job for the warm start (up to 5)."
    ),
    constraint: list[str] = typer.Option(
        [],
        "--constraint",
        help="METRIC<=VALUE or METRIC>=VALUE a best trial must meet, e.g. bias:DPPL<=0.1 or "
        "latency_p50_ms<=20. Repeatable.",
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the tuning job."),
    algorithm: str | None = typer.Option(
        None, "--algorithm", "-a", help="Built-in algorithm each trial trains."
    ),
    entry_point: str | None = typer.Option(
        None, "--entry-point", "-e", help="Script-mode training script of each trial."
    ),
    source_dir: Path | None = typer.Option(None, "--source-dir", help="Directory with the script."),
    train_uri: str | None = typer.Option(None, "--train", help="Lake URI of the train channel."),
    validation_uri: str | None = typer.Option(None, "--validation", help="Validation channel."),
    test_uri: str | None = typer.Option(None, "--test", help="Test channel."),
    channel: list[str] = typer.Option([], "--channel", "-c", help="More channels: NAME=URI."),
    hyperparameter: list[str] = typer.Option(
        [],
        "--hyperparameter",
        "-H",
        help="Static hyperparameter NAME=VALUE (repeatable; VALUE read as JSON if valid).",
    ),
    hyperparameters_json: str | None = typer.Option(
        None, "--hyperparameters", help="All static hyperparameters as one JSON object."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", "-m", help="Metric to capture from a trial's log: NAME=REGEX."
    ),
    instance_type: str = typer.Option("local", "--instance-type", help="local or local:THREADS."),
    max_run: float | None = typer.Option(
        None, "--max-run", help="Fail a trial after this many seconds."
    ),
    env: list[str] = typer.Option([], "--env", help="Trial environment NAME=VALUE."),
    output_path: str | None = typer.Option(None, "--output-path", help="Lake prefix for models."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the trials until the end."),
    json_output: bool = JsonOption,
) -> None:
    """Start a tuning job: trials are training jobs with hyperparameters from the ranges.

    The trial template is given as for ``sagebox train``. Everything is checked before the job
    starts; it then runs on its own (it survives this command). With --wait the trials are
    shown live until the job ends, and the exit status is non-zero unless it completed.

    Example: ``sagebox tune create -a linear-text --train prepared/train --validation
    prepared/validation -H min_df=1 --objective validation:macro_f1 -R C=0.01:10:log
    -R ngram_max=1,2 --strategy Bayesian --max-jobs 20 --max-parallel-jobs 2``
    """
    from sagebox.errors import InputDataError
    from sagebox.session import Session
    from sagebox.training import Estimator
    from sagebox.tuning import HyperparameterTuner, WarmStartConfig, parse_ranges

    if len(objective_type) > len(objective):
        raise InputDataError(
            f"{len(objective_type)} --objective-type for {len(objective)} --objective",
            hint="give at most one --objective-type per --objective, in the same order",
        )
    types = [*objective_type, *["Maximize"] * (len(objective) - len(objective_type))]
    if parent and not warm_start_type:
        raise InputDataError(
            "--parent needs --warm-start-type",
            hint="add --warm-start-type IdenticalDataAndAlgorithm or TransferLearning",
        )
    if warm_start_type and not parent:
        raise InputDataError(
            "--warm-start-type needs at least one --parent tuning job",
            hint="add --parent NAME (a finished tuning job; up to 5)",
        )
    ranges = parse_ranges(hp_range)
    session = Session()
    estimator = Estimator(
        algorithm=algorithm,
        entry_point=entry_point,
        source_dir=source_dir,
        hyperparameters=parse_hyperparameters(hyperparameter, hyperparameters_json),
        instance_type=instance_type,
        max_run=max_run,
        environment=parse_pairs(env, "--env"),
        metric_definitions=[
            {"Name": k, "Regex": v} for k, v in parse_pairs(metric, "--metric").items()
        ],
        output_path=output_path,
        session=session,
    )
    hyperband = {
        k: v for k, v in (("MinResource", min_resource), ("MaxResource", max_resource)) if v
    }
    tuner = HyperparameterTuner(
        estimator=estimator,
        objective_metric_name=objective[0],
        objective_type=types[0],
        hyperparameter_ranges=ranges,
        strategy=strategy,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        max_runtime_in_seconds=max_runtime,
        early_stopping_type=early_stopping,
        random_seed=seed,
        strategy_config={"HyperbandStrategyConfig": hyperband} if hyperband else None,
        warm_start_config=WarmStartConfig(warm_start_type, parent) if warm_start_type else None,
        constraints=constraint or None,
        objectives=list(zip(objective, types, strict=True)) if len(objective) > 1 else None,
        session=session,
    )
    channels = {
        k: v
        for k, v in (("train", train_uri), ("validation", validation_uri), ("test", test_uri))
        if v
    }
    channels.update(parse_pairs(channel, "--channel"))
    job = tuner.fit(channels, job_name=name, wait=False)
    if not wait:
        if json_output:
            print_json(tuner.describe())
        else:
            console.print(f"started {job.name}", highlight=False)
        return
    job = follow(session, job.name, quiet=json_output)
    if json_output:
        print_json(tuner.describe())
    else:
        print_outcome(tuner, job)
    if job.status.value != "Completed":
        raise typer.Exit(1)


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="Tuning job name."), json_output: bool = JsonOption
) -> None:
    """Show a tuning job as SageMaker's DescribeHyperParameterTuningJob (a summary without
    --json): status, strategy, objective, counters, the best training job."""
    tuner = _attach(name)
    description = tuner.describe()
    if json_output:
        print_json(description)
        return
    print_summary(description)


@app.command("list")
def list_tuning_jobs(
    status: str | None = typer.Option(None, help="Only jobs in this status (InProgress, ...)."),
    limit: int = typer.Option(50, min=1, help="At most this many jobs."),
    json_output: bool = JsonOption,
) -> None:
    """List tuning jobs, newest first."""
    from sagebox.jobs import JobClient
    from sagebox.tuning import TuningSpec

    wanted = parse_job_status(status)
    rows = []
    for job in JobClient().list(kind="tuning", status=wanted, limit=limit):
        spec = TuningSpec.from_parameters(job.parameters)
        rows.append(
            {
                "HyperParameterTuningJobName": job.name,
                "HyperParameterTuningJobStatus": job.status.value,
                "Strategy": spec.strategy,
                "Objective": ", ".join(f"{o.metric_name} ({o.type})" for o in spec.all_objectives),
                "MaxNumberOfTrainingJobs": spec.trial_count(),
                "MaxParallelTrainingJobs": spec.max_parallel_jobs,
                "CreationTime": job.created_at,
                "HyperParameterTuningEndTime": job.ended_at,
                "BestTrainingJobName": job.outputs.get("best_training_job"),
                "FailureReason": job.failure_reason,
            }
        )
    if json_output:
        print_json(rows)
        return
    shown = [
        {
            "name": r["HyperParameterTuningJobName"],
            "status": r["HyperParameterTuningJobStatus"],
            "strategy": r["Strategy"],
            "objective": r["Objective"],
            "trials": f"{r['MaxNumberOfTrainingJobs']} ({r['MaxParallelTrainingJobs']} at once)",
            "best": r["BestTrainingJobName"],
            "failure_reason": r["FailureReason"],
        }
        for r in rows
    ]
    print_table(
        shown,
        ["name", "status", "strategy", "objective", "trials", "best"]
        + (["failure_reason"] if any(r["failure_reason"] for r in shown) else []),
        title="tuning jobs",
    )


@app.command("stop")
def stop(
    name: str = typer.Argument(..., help="Tuning job name."), json_output: bool = JsonOption
) -> None:
    """Stop a tuning job and its running trials."""
    job = _attach(name).stop()
    if json_output:
        print_json(job)
    else:
        console.print(f"{job.name}: {job.status.value}", highlight=False)


@app.command("trials")
def trials(
    name: str = typer.Argument(..., help="Tuning job name."), json_output: bool = JsonOption
) -> None:
    """The trials of a tuning job: hyperparameters, status, objective, times."""
    from sagebox.tuning import TuningSpec, trial_rows

    tuner = _attach(name)
    rows = trial_rows(tuner.session, name)
    if json_output:
        print_json(rows)
        return
    console.print(trials_table(TuningSpec.from_parameters(_job(tuner).parameters), rows))


@app.command("best")
def best(
    name: str = typer.Argument(..., help="Tuning job name."), json_output: bool = JsonOption
) -> None:
    """The best trial (training job, objective, hyperparameters); for a multi-objective job,
    the Pareto front. Exit 1 if no trial has completed with a (feasible) objective."""
    from sagebox.errors import JobError

    tuner = _attach(name)
    if tuner.spec.multi_objective:
        front = tuner.pareto_front()
        if not front:
            raise JobError(
                f"tuning job {name} has no Pareto front yet",
                hint=f"wait for a trial to complete; see sagebox tune trials {name}",
            )
        if json_output:
            print_json({"ParetoFrontTrainingJobs": front})
            return
        names = [o.metric_name for o in tuner.spec.all_objectives]
        rows = [
            {
                "training job": t["TrainingJobName"],
                **{m: format_value(t.get("FinalObjectiveValues", {}).get(m)) for m in names},
                "tuned hyperparameters": format_pairs(t["TunedHyperParameters"]),
            }
            for t in front
        ]
        print_table(rows, ["training job", *names, "tuned hyperparameters"], title="Pareto front")
        return
    job_name = tuner.best_training_job()
    summary = dict(tuner.describe()["BestTrainingJob"])
    summary["HyperParameters"] = dict(
        tuner.session.metadata.get_job(job_name).parameters.get("hyperparameters") or {}
    )
    if json_output:
        print_json(summary)
        return
    objective = summary["FinalHyperParameterTuningJobObjectiveMetric"]
    console.print(f"[bold]best training job[/bold]: {job_name}", highlight=False)
    console.print(f"[bold]{objective['MetricName']}[/bold]: {format_value(objective['Value'])}")
    tuned = summary["TunedHyperParameters"]
    rows = [
        {"hyperparameter": k, "value": format_value(v), "tuned": "yes" if k in tuned else ""}
        for k, v in {**summary["HyperParameters"], **tuned}.items()
    ]
    print_table(rows, ["hyperparameter", "value", "tuned"], title="hyperparameters")


@app.command("report")
def report(
    name: str = typer.Argument(..., help="Tuning job name."),
    out: Path = typer.Option(Path("tuning-report.html"), "--out", "-o", help="HTML file to write."),
    open_browser: bool = typer.Option(
        False, "--open", help="Open the report in the default web browser."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Write a tuning job's HTML report: objective over trials, hyperparameters (parallel
    coordinates), learning curves, the best trial, the trials. Works offline.

    Example: ``sagebox tune report reviews-tuning -o tuning.html --open``
    """
    from sagebox.session import Session
    from sagebox.tuning.report import write_tuning_report

    with console.status(f"writing the tuning report of {name}"):
        path = write_tuning_report(Session(), name, out)
    if json_output:
        print_json({"tuning_job": name, "path": path.resolve()})
    else:
        console.print(f"wrote {path}", highlight=False)
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _attach(name: str) -> HyperparameterTuner:
    from sagebox.session import Session
    from sagebox.tuning import HyperparameterTuner

    return HyperparameterTuner.attach(name, session=Session())


def _job(tuner: HyperparameterTuner) -> JobRecord:
    return tuner.session.metadata.get_job(str(tuner.latest_tuning_job))
