"""One exception tree for perfbot. Only the CLI turns these into exit codes (bot/cli/__init__.py).

Every message names the file, key or value at fault and, where there is one,
the command that fixes it. `exit_code` is what `perfbot` exits with: 1, 2
for a name given on the command line that is not known (a usage error), or 3
when `perfbot run` recorded items that were not ok (`ItemsNotOk`).

Tested where each is raised, and as exit codes through the commands (tests/cli/).
"""


class PerfbotError(Exception):
    "perfbot could not do what was asked"

    exit_code = 1


class BadSetting(PerfbotError):
    "A setting, an environment variable or devices.yml is wrong"


class UnknownName(PerfbotError):
    "A device, suite, workload or environment name is not known"

    exit_code = 2


class BadUsage(PerfbotError):
    "Options that do not go together, or one that needs another (a usage error, as click's own)"

    exit_code = 2


class BadRange(PerfbotError):
    "A commit range to bisect is not one: good is not an ancestor of bad, or they are the same commit"


class BadModel(PerfbotError):
    "A file given as a model is not a usable TFLite model"


class BadExport(PerfbotError):
    "A file given as a tuning export is not one"


class DeviceUnavailable(PerfbotError):
    "A device cannot be reached or is not set up"


class DatabaseError(PerfbotError):
    "The perfbot database is missing, from another schema, or unusable"


class EnvironmentBroken(PerfbotError):
    "A TVM environment under test could not be provisioned"


class BuildFailed(EnvironmentBroken):
    "A TVM build of a commit (its native libraries or its Python overlay) failed"


class GitHubError(PerfbotError):
    "GitHub refused a request or could not be reached"


class Cancelled(PerfbotError):
    "The job was cancelled, or taken over by another worker, while it ran"


class ItemsNotOk(PerfbotError):
    "`perfbot run` recorded items that were not ok (see its --fail-on)"

    exit_code = 3


class TuningNotOk(PerfbotError):
    "`perfbot tune` ended without finishing its tuning (the tasks it finished are kept)"

    exit_code = 3
