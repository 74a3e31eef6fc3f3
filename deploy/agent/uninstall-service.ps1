# Stop and remove the qb-agent Windows service. The config and queue stay in %APPDATA%.
param([string]$Name = "QBBitrix24Agent")
$ErrorActionPreference = "Stop"
Stop-Service $Name -ErrorAction SilentlyContinue
sc.exe delete $Name | Out-Null
Write-Output "Removed service $Name"
