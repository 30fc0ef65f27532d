"""How the property suite runs its examples: its Hypothesis profiles, and a database that forgets each one.

Profiles instead of a global `load_profile`: the other Hypothesis users of the session (schemathesis)
keep their own settings. "posture-ci" is derandomized, so a CI run is reproducible and never flakes on
an example an earlier run did not meet; "posture-long" (POSTURE_LONG_TESTS=1) explores fresh examples
each run. Neither keeps an example database: the checkout stays free of .hypothesis/, and a failure
prints the example and a reproduce blob instead.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from hypothesis import HealthCheck, settings

settings.register_profile(
    "posture-ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    # One pytest-django database per test, reset per example by `forgetting` below.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "posture-long",
    parent=settings.get_profile("posture-ci"),
    max_examples=200,
    derandomize=False,
)
CI = settings.get_profile("posture-ci")
# Examples that import files and export them cost ~0.5 s each on PostgreSQL: fewer, to keep the suite
# under a minute per database pass.
CI_IMPORTS = settings(CI, max_examples=10)
LONG = settings.get_profile("posture-long")


@contextmanager
def forgetting() -> Iterator[None]:
    """Everything written inside is rolled back (a savepoint in the test's transaction), so each
    Hypothesis example starts from the migrated, catalog-loaded database."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
