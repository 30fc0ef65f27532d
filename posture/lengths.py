"""How long a text read from a file may be where it is stored: each number is the column's max_length in
its model and the limit the importers check records against (posture/importers/limits.py), so a file
holding a longer value is refused with its reason instead of failing at the database."""

# The estate (posture.models).
RESOURCE_ID = 1000
RESOURCE_NAME = 300
RESOURCE_GROUP = 200
SUBSCRIPTION_NAME = 200
AGENT_VERSION = 100
WORKSPACE_ID = 200

# The rule catalog and scans (recommendations.models).
BENCHMARK_ID = 300
BENCHMARK_VERSION = 100
BENCHMARK_TITLE = 500
RULE_KEY = 300
CCE = 40
RULE_TYPE = 60
SCAN_TARGET_FQDN = 300
SCAN_TARGET_OS = 300
PROFILE_ID = 300
PROFILE_TITLE = 500

# Assessments imported from Defender.
ASSESSMENT_CAUSE = 100

# Kubernetes dumps: names as long as Kubernetes allows (a DNS subdomain), owners and profiles a bit more.
K8S_NAME = 253
K8S_OWNER = 300
APPARMOR_PROFILE = 300

# Findings of the clouds' security tools (Security Hub, Prowler).
FINDING_UID = 1000
FINDING_CHECK = 300
FINDING_TITLE = 500
FINDING_SEVERITY = 20
FINDING_RESOURCE_TYPE = 100
FINDING_TIME = 40
