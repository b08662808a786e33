#!/usr/bin/python3
"""Checks what `credvault --json` printed against docs/json/credvault-output.schema.json,
with Debian's python3-jsonschema (an implementation that is not ours).

    validate_json_output.py SCHEMA < RUNS

RUNS is one JSON object per line: {"verb": "password-set", "status": 0, "stdout": "..."}.
For each run: stdout must be exactly one JSON document on one line; it must validate
against $defs/<verb>; a run that failed (status not 0) must carry the error object with that
exit status (at the top level, or for backends and doctor in the selection or a check;
auth status carries it beside the status). Every verb the schema names must have been seen
both succeeding and failing. Prints every problem; exits 1 if there is any.
"""
import json
import sys

import jsonschema

REPORTS = {"backends", "doctor"}  # their document is the report, whatever the exit status


def main():
    schema = json.load(open(sys.argv[1]))
    defs = schema["$defs"]
    verbs = {name for name, value in defs.items() if value.get("description", "").startswith("credvault ")} | {"auth-status"}
    seen = {verb: set() for verb in verbs}
    problems = []
    for number, line in enumerate(sys.stdin, 1):
        run = json.loads(line)
        verb, status, stdout = run["verb"], run["status"], run["stdout"]
        where = f"run {number} ({verb}, exit {status})"
        if verb not in defs:
            problems.append(f"{where}: the schema has no $defs/{verb}")
            continue
        if stdout.count("\n") != 1 or not stdout.endswith("\n"):
            problems.append(f"{where}: stdout is not one line ending in a newline: {stdout[:300]!r}")
            continue
        try:
            document = json.loads(stdout)
        except ValueError as error:
            problems.append(f"{where}: not JSON ({error}): {stdout[:300]!r}")
            continue
        validator = jsonschema.Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{verb}"})
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        for error in errors:
            problems.append(f"{where}: {error.message} at {list(error.absolute_path)} in {stdout[:300]!r}")
        if errors:
            continue
        if status != 0 and verb not in REPORTS:
            carried = document.get("error", {}).get("exit_status")
            if carried != status:
                problems.append(f"{where}: failed, but the document's error.exit_status is {carried!r}: {stdout[:300]!r}")
        elif status == 0 and "error" in document:
            problems.append(f"{where}: succeeded, but the document carries an error: {stdout[:300]!r}")
        seen[verb].add("failure" if status != 0 else "success")
    for verb in sorted(verbs):
        for outcome in ("success", "failure"):
            if outcome not in seen[verb]:
                problems.append(f"{verb}: no {outcome} was checked")
    for problem in problems:
        print(problem)
    print(f"{number if 'number' in dir() else 0} runs, {len(verbs)} verbs, {len(problems)} problems")
    sys.exit(1 if problems else 0)


main()
