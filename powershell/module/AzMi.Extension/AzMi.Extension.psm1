# AzMi.Extension: Azure Key Vault as a Microsoft.PowerShell.SecretManagement vault, with the
# managed identity of the machine (no Az modules). SecretManagement calls these functions in its
# own runspace, each with -VaultName (the registered vault's name) and -AdditionalParameters (the
# -VaultParameters of Register-SecretVault):
#   VaultName    the Key Vault: a name (mi-lab-vault) or URI (https://mi-lab-vault.vault.azure.net)
#   ClientId, ObjectId or ResourceId   a user-assigned identity (at most one); none: system-assigned
#   Source       the managed identity source, when the host sets several (Imds, AppService, ...)
#   Environment  the Azure cloud (AzureCloud, AzureUSGovernment, AzureChinaCloud)
# They call AzMi's own cmdlets, so tokens come from the process-wide cache the module shares.
#
# Secret types are kept in the secret's content type as Az.KeyVault's extension keeps them
# (String, SecureString, ByteArray, PSCredential, Hashtable; PSCredential and Hashtable as JSON,
# ByteArray as ASCII text), so either module reads what the other wrote. Metadata is the
# secret's tags. Nothing here prints or logs a value.

$script:VaultParameterNames = 'VaultName', 'ClientId', 'ObjectId', 'ResourceId', 'Source', 'Environment'
$script:SecretTypes = 'ByteArray', 'String', 'SecureString', 'PSCredential', 'Hashtable'
# Hashtable secrets are stored as JSON of at most this depth (ConvertTo-Json cuts deeper levels).
$script:MaxHashtableDepth = 10

function Get-VaultArgument {
    <# The AzMi cmdlet arguments the vault parameters name; an error for a missing vault or an unknown parameter. #>
    param([string] $VaultName, [hashtable] $AdditionalParameters)
    $given = if ($null -ne $AdditionalParameters) { $AdditionalParameters } else { @{} }
    foreach ($key in $given.Keys) {
        # SecretManagement adds Verbose when its cmdlet ran with -Verbose.
        if ($key -notin $script:VaultParameterNames -and $key -ne 'Verbose') {
            throw "The vault '$VaultName' has the parameter '$key', which AzMi does not know; its vault parameters are $($script:VaultParameterNames -join ', ') (Set-SecretVaultDefault / Register-SecretVault -VaultParameters)."
        }
    }
    if ([string]::IsNullOrWhiteSpace([string] $given['VaultName'])) {
        throw "The vault '$VaultName' names no Key Vault: register it with -VaultParameters @{ VaultName = '<Key Vault name or URI>' }."
    }
    $arguments = @{}
    foreach ($key in $script:VaultParameterNames) {
        if (-not [string]::IsNullOrWhiteSpace([string] $given[$key])) { $arguments[$key] = [string] $given[$key] }
    }
    $arguments
}

function Use-VerbosePreference {
    <# SecretManagement passes -Verbose in AdditionalParameters: honour it in the caller's scope. #>
    param([hashtable] $AdditionalParameters)
    if ($null -ne $AdditionalParameters -and $AdditionalParameters['Verbose'] -eq $true) {
        Set-Variable -Name VerbosePreference -Value 'Continue' -Scope 1
    }
}

function Test-SecretName([string] $Name) {
    # Key Vault's names: 1 to 127 letters, digits and hyphens.
    $Name -match '^[0-9A-Za-z-]{1,127}$'
}

function ConvertTo-PlainText([securestring] $Value) {
    # Through a BSTR, which keeps its length: a NUL in the value (a byte[] secret's 0) stays,
    # where NetworkCredential's Password would end the text there.
    $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($Value)
    try {
        [System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr)
    }
    finally {
        [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
    }
}

function ConvertFrom-VaultSecret {
    <# The secret as SecretManagement's type, from its content type (a SecureString for any other). #>
    param($Secret)
    $name = $Secret.Name
    switch ($Secret.ContentType) {
        'String' { return ConvertTo-PlainText $Secret.SecretValue }
        'ByteArray' {
            # Az.KeyVault stores bytes as ASCII text; UTF-8 reads that the same and keeps any
            # other character whole.
            return , [System.Text.Encoding]::UTF8.GetBytes((ConvertTo-PlainText $Secret.SecretValue))
        }
        'PSCredential' {
            $fields = ConvertFrom-SecretJson $Secret
            if ($null -eq $fields -or $null -eq $fields.UserName -or $null -eq $fields.Password) {
                throw "The secret '$name' has content type PSCredential but its value is not a JSON object with UserName and Password."
            }
            return [System.Management.Automation.PSCredential]::new([string] $fields.UserName, (ConvertTo-SecureString ([string] $fields.Password) -AsPlainText -Force))
        }
        'Hashtable' {
            $fields = ConvertFrom-SecretJson $Secret
            $table = @{}
            foreach ($property in $fields.PSObject.Properties) { $table[$property.Name] = $property.Value }
            return , $table
        }
        default { return $Secret.SecretValue }
    }
}

function ConvertFrom-SecretJson($Secret) {
    try {
        ConvertTo-PlainText $Secret.SecretValue | ConvertFrom-Json -ErrorAction Stop
    }
    catch {
        # Never the parser's message: it may quote the value.
        throw "The secret '$($Secret.Name)' has content type $($Secret.ContentType) but its value is not JSON."
    }
}

function Test-HashtableValue {
    <# Throws for a value of a Hashtable secret that JSON cannot keep as it is. #>
    param($Value, [string] $Path, [int] $Depth)
    if ($Depth -gt $script:MaxHashtableDepth) {
        throw "The hashtable is deeper than $($script:MaxHashtableDepth) levels at '$Path'; Hashtable secrets are stored as JSON of at most that depth."
    }
    # Text, numbers, booleans and dates: JSON keeps them (-or and -and bind alike: one test).
    if ($null -eq $Value -or $Value -is [string] -or $Value -is [ValueType]) {
        return
    }
    if ($Value -is [System.Collections.IDictionary]) {
        foreach ($key in $Value.Keys) { Test-HashtableValue $Value[$key] "$Path.$key" ($Depth + 1) }
        return
    }
    if ($Value -is [securestring] -or $Value -is [pscredential] -or $Value -is [byte[]]) {
        throw "The hashtable value '$Path' is a $($Value.GetType().Name): Hashtable secrets are stored as JSON (as Az.KeyVault stores them), which would not keep it; store it as a secret of its own."
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        $i = 0
        foreach ($item in $Value) { Test-HashtableValue $item "$Path[$i]" ($Depth + 1); $i++ }
        return
    }
    throw "The hashtable value '$Path' is a $($Value.GetType().Name); Hashtable secrets hold strings, numbers, booleans, and hashtables and arrays of them."
}

function ConvertTo-VaultValue {
    <# The value to store and its content type (Az.KeyVault's convention). #>
    param($Secret)
    if ($Secret -is [securestring]) { return $Secret, 'SecureString' }
    if ($Secret -is [string]) { return (ConvertTo-SecureString $Secret -AsPlainText -Force), 'String' }
    if ($Secret -is [byte[]]) {
        foreach ($b in $Secret) {
            if ($b -gt 0x7F) {
                throw 'A byte[] secret is stored as Az.KeyVault stores it, as ASCII text, which cannot hold bytes above 0x7F; store such data as Base64 text instead: Set-Secret -Secret ([Convert]::ToBase64String($bytes)).'
            }
        }
        return (ConvertTo-SecureString ([System.Text.Encoding]::ASCII.GetString($Secret)) -AsPlainText -Force), 'ByteArray'
    }
    if ($Secret -is [pscredential]) {
        $json = @{ UserName = $Secret.UserName; Password = $Secret.GetNetworkCredential().Password } | ConvertTo-Json -Compress
        return (ConvertTo-SecureString $json -AsPlainText -Force), 'PSCredential'
    }
    if ($Secret -is [hashtable]) {
        foreach ($key in $Secret.Keys) { Test-HashtableValue $Secret[$key] ([string] $key) 1 }
        $json = ConvertTo-Json -InputObject $Secret -Depth $script:MaxHashtableDepth -Compress
        return (ConvertTo-SecureString $json -AsPlainText -Force), 'Hashtable'
    }
    $type = if ($null -eq $Secret) { 'null' } else { $Secret.GetType().FullName }
    throw "A $type cannot be stored; the types supported are byte[], string, SecureString, PSCredential and Hashtable."
}

function ConvertTo-Tag {
    <# SecretManagement metadata as Key Vault tags (text): strings, numbers, dates (ISO 8601). #>
    param([hashtable] $Metadata)
    $tags = @{}
    if ($null -eq $Metadata) { return $tags }
    foreach ($key in $Metadata.Keys) {
        $value = $Metadata[$key]
        $tags[[string] $key] = if ($null -eq $value) {
            ''
        }
        elseif ($value -is [datetime] -or $value -is [datetimeoffset]) {
            $value.ToString('o', [cultureinfo]::InvariantCulture)
        }
        elseif ($value -is [string] -or $value -is [ValueType]) {
            [string]::Format([cultureinfo]::InvariantCulture, '{0}', $value)
        }
        else {
            throw "The metadata '$key' is a $($value.GetType().Name); Key Vault tags hold text: give strings, numbers or dates."
        }
    }
    $tags
}

function New-SecretInformation([string] $Name, [string] $Type, [string] $VaultName, [hashtable] $Metadata) {
    $secretType = [Microsoft.PowerShell.SecretManagement.SecretType] $Type
    if ($Metadata.Count -gt 0) {
        [Microsoft.PowerShell.SecretManagement.SecretInformation]::new($Name, $secretType, $VaultName, $Metadata)
    }
    else {
        [Microsoft.PowerShell.SecretManagement.SecretInformation]::new($Name, $secretType, $VaultName)
    }
}

function Get-Secret {
    [CmdletBinding()]
    param([string] $Name, [string] $VaultName, [hashtable] $AdditionalParameters)
    Use-VerbosePreference $AdditionalParameters
    $vault = Get-VaultArgument $VaultName $AdditionalParameters
    if (-not (Test-SecretName $Name)) {
        Write-Verbose "'$Name' is not a Key Vault secret name (letters, digits and hyphens): not in vault $VaultName."
        return
    }
    try {
        $secret = AzMi\Get-AzMiKeyVaultSecret @vault -Name $Name -ErrorAction Stop
    }
    catch {
        # Not there: SecretManagement says so (and looks in its other vaults).
        if ($_.FullyQualifiedErrorId -like 'AzMi.NotFound,*') { return }
        throw
    }
    $value = ConvertFrom-VaultSecret $secret
    # One object, a byte[] included: Write-Output -NoEnumerate would wrap it in a List in
    # PowerShell 7, and the pipeline would send a byte[] byte by byte.
    $PSCmdlet.WriteObject($value, $false)
}

function Get-SecretInfo {
    [CmdletBinding()]
    param([string] $Filter, [string] $VaultName, [hashtable] $AdditionalParameters)
    Use-VerbosePreference $AdditionalParameters
    $vault = Get-VaultArgument $VaultName $AdditionalParameters
    $pattern = [WildcardPattern]::new($(if ([string]::IsNullOrEmpty($Filter)) { '*' } else { $Filter }), [System.Management.Automation.WildcardOptions]::IgnoreCase)
    foreach ($secret in AzMi\Get-AzMiKeyVaultSecret @vault -ErrorAction Stop) {
        if (-not $pattern.IsMatch($secret.Name)) { continue }
        # The type Get-Secret returns; secrets written by other tools are Unknown, as in Az.KeyVault.
        $type = $script:SecretTypes | Where-Object { $_ -eq $secret.ContentType } | Select-Object -First 1
        if (-not $type) { $type = 'Unknown' }
        New-SecretInformation $secret.Name $type $VaultName $secret.Tags
    }
}

function Set-Secret {
    [CmdletBinding()]
    param([string] $Name, [object] $Secret, [string] $VaultName, [hashtable] $AdditionalParameters, [hashtable] $Metadata)
    Use-VerbosePreference $AdditionalParameters
    $vault = Get-VaultArgument $VaultName $AdditionalParameters
    if (-not (Test-SecretName $Name)) {
        throw "'$Name' cannot be a Key Vault secret name: use 1 to 127 letters, digits and hyphens."
    }
    $value, $type = ConvertTo-VaultValue $Secret
    $tags = ConvertTo-Tag $Metadata
    $null = AzMi\Set-AzMiKeyVaultSecret @vault -Name $Name -SecretValue $value -ContentType $type -Tag $tags -Confirm:$false -ErrorAction Stop
}

function Set-SecretInfo {
    <# Metadata replaces the secret's tags: a new version with the same value and settings. #>
    [CmdletBinding()]
    param([string] $Name, [hashtable] $Metadata, [string] $VaultName, [hashtable] $AdditionalParameters)
    Use-VerbosePreference $AdditionalParameters
    $vault = Get-VaultArgument $VaultName $AdditionalParameters
    $tags = ConvertTo-Tag $Metadata
    $secret = AzMi\Get-AzMiKeyVaultSecret @vault -Name $Name -ErrorAction Stop
    $settings = @{ Tag = $tags }
    if ($secret.ContentType) { $settings.ContentType = $secret.ContentType }
    if ($secret.Expires) { $settings.Expires = $secret.Expires }
    if ($secret.NotBefore) { $settings.NotBefore = $secret.NotBefore }
    $null = AzMi\Set-AzMiKeyVaultSecret @vault -Name $Name -SecretValue $secret.SecretValue @settings -Confirm:$false -ErrorAction Stop
}

function Remove-Secret {
    [CmdletBinding()]
    param([string] $Name, [string] $VaultName, [hashtable] $AdditionalParameters)
    Use-VerbosePreference $AdditionalParameters
    $vault = Get-VaultArgument $VaultName $AdditionalParameters
    # Soft delete: the vault keeps it recoverable, and its name taken, until purged.
    AzMi\Remove-AzMiKeyVaultSecret @vault -Name $Name -Force -Confirm:$false -ErrorAction Stop
}

function Test-SecretVault {
    <# Whether the vault answers and the identity may read it; errors name the identity and why not. #>
    [CmdletBinding()]
    param([string] $VaultName, [hashtable] $AdditionalParameters)
    Use-VerbosePreference $AdditionalParameters
    try {
        $vault = Get-VaultArgument $VaultName $AdditionalParameters
    }
    catch {
        Write-Error -Message $_.Exception.Message -ErrorId 'AzMi.Extension.VaultParameters' -Category InvalidArgument
        return $false
    }
    $identity = @{}
    foreach ($key in 'ClientId', 'ObjectId', 'ResourceId', 'Source', 'Environment') {
        if ($vault.ContainsKey($key)) { $identity[$key] = $vault[$key] }
    }
    try {
        $me = AzMi\Get-AzMiManagedIdentity @identity -ErrorAction Stop
    }
    catch {
        Write-Error -Message "Vault '$VaultName': the managed identity cannot be used: $($_.Exception.Message)" -ErrorId 'AzMi.Extension.Identity' -Category InvalidArgument
        return $false
    }
    if (-not $me.Available) {
        Write-Error -Message "Vault '$VaultName': no managed identity token ($($me.Source) at $($me.Endpoint)): $($me.Detail)" -ErrorId 'AzMi.Extension.NoToken' -Category ConnectionError
        return $false
    }
    $who = "$($me.Identity) (client id $($me.ClientId), object id $($me.ObjectId), as its token says: read, not verified)"
    try {
        # Listing needs the same role as reading (secrets/readMetadata; Key Vault Secrets User has both).
        $null = AzMi\Get-AzMiKeyVaultSecret @vault -ErrorAction Stop | Select-Object -First 1
    }
    catch {
        $reason = $_.Exception.Message
        if ($_.FullyQualifiedErrorId -like 'AzMi.PermissionDenied,*') {
            Write-Error -Message "Key Vault $($vault.VaultName) answers, but $who may not read it: give it a data-plane role on the vault, such as Key Vault Secrets User (read) or Key Vault Secrets Officer (read and write). The vault said: $reason" -ErrorId 'AzMi.Extension.PermissionDenied' -Category PermissionDenied
        }
        else {
            Write-Error -Message "Key Vault $($vault.VaultName) does not answer $who`: $reason" -ErrorId 'AzMi.Extension.VaultUnavailable' -Category ConnectionError
        }
        return $false
    }
    Write-Verbose "Key Vault $($vault.VaultName) answers, and $who may read it."
    $true
}
