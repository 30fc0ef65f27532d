# Installs the Posture agent on a Windows machine from a Posture server, enrolls it with a token, runs
# it once, and registers an hourly scheduled task (as SYSTEM). Posture's Quick fix and resource pages
# print the one-line form of it, for an elevated PowerShell, with the token filled in:
#
#   & ([scriptblock]::Create((Invoke-WebRequest -UseBasicParsing 'https://posture.example.com/agent/install.ps1').Content)) -Url 'https://posture.example.com' -Token 'TOKEN' -ResourceId 'ID'
#
# Needs Python 3.8 or newer (the agent is one standard-library Python file): the py launcher or python
# on the PATH. The agent keeps its config in %ProgramData%\posture-agent.
param(
    [Parameter(Mandatory = $true)][string]$Url,
    [Parameter(Mandatory = $true)][string]$Token,
    [string]$ResourceId = ""
)
$ErrorActionPreference = "Stop"
$Url = $Url.TrimEnd("/")

$python = Get-Command py -ErrorAction SilentlyContinue
$pythonArgs = @("-3")
if (-not $python) {
    $python = Get-Command python -ErrorAction SilentlyContinue
    $pythonArgs = @()
}
if (-not $python) { throw "posture-install: Python 3.8 or newer is required (winget install Python.Python.3.12)" }

$dir = Join-Path $env:ProgramData "posture-agent"
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$agent = Join-Path $dir "posture_agent.py"
# Redirects are refused, as the agent refuses them: they would lead elsewhere than the server named.
Invoke-WebRequest -UseBasicParsing -MaximumRedirection 0 -Uri "$Url/agent/posture_agent.py" -OutFile $agent
Write-Output "posture-install: installed $agent"

$enroll = $pythonArgs + @($agent, "enroll", $Url, "-")
if ($ResourceId) { $enroll += @("--resource-id", $ResourceId) }
# The token goes through a pipe, not the command line, so it stays out of the process list.
$Token | & $python.Source @enroll
if ($LASTEXITCODE -ne 0) { throw "posture-install: enrollment failed (see above)" }
& $python.Source @($pythonArgs + @($agent, "run"))
if ($LASTEXITCODE -ne 0) { Write-Warning "posture-install: the first run failed (see above); the task will try again" }

$arguments = (($pythonArgs + @("`"$agent`"", "run")) -join " ")
$action = New-ScheduledTaskAction -Execute $python.Source -Argument $arguments
$trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(5) -RepetitionInterval (New-TimeSpan -Hours 1)
Register-ScheduledTask -TaskName "Posture agent" -Action $action -Trigger $trigger -User "SYSTEM" -RunLevel Highest -Force | Out-Null
Write-Output "posture-install: registered the hourly scheduled task 'Posture agent'"
