"""The demo estate's AWS account and GCP project, written as their own tools print them:
`aws ec2 describe-instances`, `aws ssm describe-instance-information` and `gcloud compute instances
list --format=json` (Posture's own demo data in those shapes, not recorded output).
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

AWS_ACCOUNT = "111122223333"  # AWS's documentation account id
AWS_REGION = "eu-west-1"
GCP_PROJECT = "analytics-prod-4821"
GCP_ZONE = "europe-west1-b"
HUB_ARN = f"arn:aws:securityhub:{AWS_REGION}:{AWS_ACCOUNT}"


@dataclass(frozen=True)
class CloudMachine:
    name: str
    os: str
    host: str  # the host name a scanner reports
    running: bool = True
    ssm: str = ""  # the SSM agent's ping status, "" when SSM does not know the machine
    # Scanned before the inventory arrived: found in "Discovered" first, then moved into its account.
    scanned_first: bool = False


AWS_MACHINES = (
    CloudMachine("aws-web-01", "linux", "ip-10-20-1-11", ssm="Online"),
    CloudMachine("aws-web-02", "linux", "ip-10-20-1-12", ssm="Online"),
    CloudMachine("aws-api-01", "linux", "ip-10-20-1-14", ssm="ConnectionLost", scanned_first=True),
    CloudMachine("aws-win-01", "windows", "EC2AMAZ-4K2J9QF", ssm="Online"),
    CloudMachine("aws-batch-01", "linux", "ip-10-20-2-30", running=False),
)
GCP_MACHINES = (
    CloudMachine("gce-etl-01", "linux", "gce-etl-01"),
    CloudMachine("gce-etl-02", "linux", "gce-etl-02"),
    CloudMachine("gce-win-01", "windows", "gce-win-01"),
)


def instance_id(index: int) -> str:
    return f"i-0a1b2c3d4e5f6{index:04x}"


def aws_arn(index: int) -> str:
    return f"arn:aws:ec2:{AWS_REGION}:{AWS_ACCOUNT}:instance/{instance_id(index)}"


def gce_resource_id(machine: CloudMachine) -> str:
    return f"//compute.googleapis.com/projects/{GCP_PROJECT}/zones/{GCP_ZONE}/instances/{machine.name}"


def ec2_describe_instances(launched: datetime) -> bytes:
    reservations: list[dict[str, Any]] = []
    for index, machine in enumerate(AWS_MACHINES):
        windows = machine.os == "windows"
        private_dns = f"{machine.host.lower()}.{AWS_REGION}.compute.internal"
        instance: dict[str, Any] = {
            "InstanceId": instance_id(index),
            "InstanceType": "m5.large" if windows else "t3.medium",
            "ImageId": f"ami-0{index:016x}",
            "LaunchTime": (launched - timedelta(days=30 + index)).isoformat(),
            "Placement": {"AvailabilityZone": f"{AWS_REGION}{'abc'[index % 3]}", "Tenancy": "default"},
            "PrivateDnsName": private_dns,
            "PrivateIpAddress": f"10.20.{1 + index // 4}.{11 + index}",
            "State": {"Code": 16, "Name": "running"} if machine.running else {"Code": 80, "Name": "stopped"},
            "PlatformDetails": "Windows" if windows else "Linux/UNIX",
            "Tags": [
                {"Key": "Name", "Value": machine.name},
                {"Key": "env", "Value": "prod"},
                {"Key": "owner", "Value": "payments"},
            ],
        }
        if windows:
            instance["Platform"] = "windows"
        reservations.append(
            {
                "ReservationId": f"r-0{index:016x}",
                "OwnerId": AWS_ACCOUNT,
                "Groups": [],
                "Instances": [instance],
            }
        )
    return json.dumps({"Reservations": reservations}, indent=4).encode()


def ssm_instance_information(now: datetime) -> bytes:
    items = [
        {
            "InstanceId": instance_id(index),
            "PingStatus": machine.ssm,
            "LastPingDateTime": (now - timedelta(minutes=3 if machine.ssm == "Online" else 2880)).isoformat(),
            "AgentVersion": "3.3.1142.0",
            "IsLatestVersion": machine.ssm == "Online",
            "PlatformType": "Windows" if machine.os == "windows" else "Linux",
            "PlatformName": "Microsoft Windows Server 2022 Datacenter"
            if machine.os == "windows"
            else "Amazon Linux",
            "PlatformVersion": "10.0.20348" if machine.os == "windows" else "2023",
            "ResourceType": "EC2Instance",
            "IPAddress": f"10.20.{1 + index // 4}.{11 + index}",
            "ComputerName": machine.host
            if machine.os == "windows"
            else f"{machine.host}.{AWS_REGION}.compute.internal",
        }
        for index, machine in enumerate(AWS_MACHINES)
        if machine.ssm
    ]
    return json.dumps({"InstanceInformationList": items}, indent=4).encode()


def gcloud_instances_list() -> bytes:
    base = f"https://www.googleapis.com/compute/v1/projects/{GCP_PROJECT}"
    instances = []
    for index, machine in enumerate(GCP_MACHINES):
        image = (
            "windows-cloud/global/licenses/windows-server-2022-dc"
            if machine.os == "windows"
            else ("debian-cloud/global/licenses/debian-12-bookworm")
        )
        instances.append(
            {
                "id": str(7_301_442_118_640_000_000 + index),
                "kind": "compute#instance",
                "name": machine.name,
                "machineType": f"{base}/zones/{GCP_ZONE}/machineTypes/e2-standard-4",
                "status": "RUNNING",
                "zone": f"{base}/zones/{GCP_ZONE}",
                "selfLink": f"{base}/zones/{GCP_ZONE}/instances/{machine.name}",
                "labels": {"team": "analytics", "env": "prod"},
                "disks": [
                    {
                        "boot": True,
                        "kind": "compute#attachedDisk",
                        "licenses": [f"https://www.googleapis.com/compute/v1/projects/{image}"],
                    }
                ],
            }
        )
    return json.dumps(instances, indent=2, sort_keys=True).encode()


def _asff(
    index: int, machine_arn: str, control: str, title: str, status: str, types: list[str]
) -> dict[str, Any]:
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"{HUB_ARN}:security-control/{control}/finding/demo-{index:04d}",
        "ProductArn": f"arn:aws:securityhub:{AWS_REGION}::product/aws/securityhub",
        "GeneratorId": f"security-control/{control}",
        "AwsAccountId": AWS_ACCOUNT,
        "Types": types,
        "CreatedAt": "2026-11-19T08:00:00.000Z",
        "UpdatedAt": "2026-11-20T06:00:00.000Z",
        "Severity": {"Label": "MEDIUM", "Normalized": 40},
        "Title": title,
        "Resources": [
            {"Type": "AwsEc2Instance" if "instance/" in machine_arn else "AwsAccount", "Id": machine_arn}
        ],
        "Compliance": {"Status": status, "SecurityControlId": control},
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW"},
    }


def securityhub_findings() -> bytes:
    """`aws securityhub get-findings` of the demo account: the stopped machine not managed by SSM and
    failing a CIS check, and findings that are no evidence for this control (listed, not scored)."""
    batch = next(i for i, m in enumerate(AWS_MACHINES) if m.name == "aws-batch-01")
    standard = ["Software and Configuration Checks/Industry and Regulatory Standards"]
    findings = [
        _asff(
            1,
            aws_arn(batch),
            "SSM.1",
            "EC2 instances should be managed by AWS Systems Manager",
            "FAILED",
            standard,
        ),
        {
            **_asff(2, aws_arn(batch), "", "Ensure SSH PermitRootLogin is disabled", "FAILED", []),
            "GeneratorId": "arn:aws:inspector:eu-west-1:357557129151:rulespackage/0-sJBhCr0F",
            "Types": [f"{standard[0]}/CIS Host Hardening Benchmarks"],
            "Compliance": {"Status": "FAILED"},
        },
        _asff(3, aws_arn(0), "EC2.8", "EC2 instances should use IMDSv2", "FAILED", standard),
        _asff(
            4,
            f"AWS::::Account:{AWS_ACCOUNT}",
            "CloudTrail.1",
            "CloudTrail should be enabled",
            "PASSED",
            standard,
        ),
    ]
    return json.dumps({"Findings": findings}, indent=4).encode()


def prowler_gcp_findings() -> bytes:
    """Prowler's OCSF report of the demo project: instance findings that are no evidence for this control."""
    findings = []
    for index, machine in enumerate(GCP_MACHINES):
        status = "FAIL" if index == 0 else "PASS"
        findings.append(
            {
                "class_uid": 2004,
                "class_name": "Detection Finding",
                "metadata": {"event_code": "compute_instance_public_ip", "product": {"name": "Prowler"}},
                "severity": "High",
                "status_code": status,
                "finding_info": {
                    "uid": f"prowler-gcp-compute_instance_public_ip-{GCP_PROJECT}-{GCP_ZONE}-{machine.name}",
                    "title": "Check for Virtual Machine Instances with Public IP Addresses",
                    "created_time_dt": "2026-11-20T06:00:00",
                },
                "resources": [
                    {
                        "uid": str(7_301_442_118_640_000_000 + index),
                        "name": machine.name,
                        "type": "VMInstance",
                    }
                ],
                "cloud": {"provider": "gcp", "account": {"uid": GCP_PROJECT}, "region": GCP_ZONE},
            }
        )
    return json.dumps(findings, indent=2).encode()
