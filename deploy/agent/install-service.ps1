# Install qb-agent as a Windows service that starts with Windows and restarts on failure.
# Run in an elevated PowerShell. The service runs as the user who runs QuickBooks, because the
# agent's config (with its token) lives in that user's %APPDATA%.
param(
    [string]$Exe = "C:\Program Files\QB-Bitrix24 Agent\qb-agent.exe",
    [string]$Name = "QBBitrix24Agent",
    [Parameter(Mandatory = $true)][string]$User
)
$ErrorActionPreference = "Stop"
if (-not (Test-Path $Exe)) { throw "qb-agent.exe not found at $Exe" }
$cred = Get-Credential -UserName $User -Message "Windows password of the user who runs QuickBooks"
$home = Join-Path ([Environment]::GetFolderPath("ApplicationData")) "QB-Bitrix24 Agent"
New-Service -Name $Name -DisplayName "QuickBooks - Bitrix24 agent" `
    -BinaryPathName "`"$Exe`" --home `"$home`" run" -StartupType Automatic -Credential $cred
sc.exe failure $Name reset= 86400 actions= restart/5000/restart/30000/restart/60000 | Out-Null
Start-Service $Name
Get-Service $Name
