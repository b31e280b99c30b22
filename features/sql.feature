@tutorial:sql
Feature: Use a Windows VM system-assigned managed identity to access Azure SQL Database
  Tutorial: "Use a Windows VM system-assigned managed identity to access Azure SQL Database", that
  section of features/tutorials/windows-vm-access.md
  (https://docs.azure.cn/en-us/entra/identity/managed-identities-azure-resources/tutorial-windows-managed-identities-vm-access): use a
  logical SQL server, enable Microsoft Entra authentication (set an admin), create a contained
  user for the VM with CREATE USER [VMName] FROM EXTERNAL PROVIDER and ALTER ROLE db_datareader
  ADD MEMBER [VMName] as the admin, get a token from IMDS for the cloud's database resource
  (https://database.chinacloudapi.cn/ in the text) and open a connection with it
  (SqlConnection.AccessToken, Encrypt=True), then SELECT * from <TABLE>. The .NET sample's
  "Authentication=Active Directory Managed Identity" is the driver-driven flow (FEDAUTHINFO).

  The T-SQL runs verbatim from the article (CREATE USER, ALTER ROLE, the note's WITH OBJECT_ID='xxx',
  the SELECT the PowerShell sets as CommandText) with its stand-ins VMName, xxx and <TABLE> filled in.
  The server is created with SQL authentication, so the "Set admin" step is what enables the
  Microsoft Entra sign-in; the admin is the harness's operator (an application, not the article's
  user, and no SSMS). Not run: the PowerShell and C# themselves (restated with go-mssqldb).

  Claims checked: the server's host name per cloud, the token's audience, that the contained user
  can read the table and gets its rows, and the errors for each skipped or wrong step (no contained
  user, no db_datareader, a token for another resource, a duplicate display name and the
  WITH OBJECT_ID='xxx' fix the tutorial gives).

  Background:
    Given the VM has a system-assigned managed identity
    And a new resource group named like "mi-sql"
    # "create a new server and database ... follow the Azure SQL quickstart"
    And the operator creates a logical SQL server named like "mi-sql" in the resource group
    And the operator creates the database "TutorialDB" on the server
    # "Enable Microsoft Entra authentication ... Set admin ... Save"
    And the operator sets itself as the server's Microsoft Entra admin
    And the admin runs on the database:
      """
      CREATE TABLE dbo.Inventory (Id INT IDENTITY(1,1) PRIMARY KEY, Name NVARCHAR(50) NOT NULL, Quantity INT NOT NULL);
      INSERT INTO dbo.Inventory (Name, Quantity) VALUES (N'banana', 150), (N'orange', 154);
      """

  @verbatim:windows-vm-access:create-contained-user/sql#1
  @verbatim:windows-vm-access:create-contained-user/sql#2
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#1
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#2
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#3
  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#4
  @restated:windows-vm-access:access-data/powershell#5
  @claim:001-SQL-01 @claim:001-SQL-02 @claim:001-SQL-05 @claim:001-SQL-07 @claim:001-SQL-08 @claim:001-SQL-11
  @claim:001-SQL-12 @claim:001-SQL-13 @claim:001-SQL-CB10
  Scenario: [1] Create the contained user, grant db_datareader, query with the token from IMDS
    # "VMName in the following command is the name of the VM that you enabled system assigned identity on"
    When the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#1" on the database, with VMName as "<VM-NAME>"
    And the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#2" on the database, with VMName as "<VM-NAME>"
    # Invoke-WebRequest -Uri 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fdatabase.chinacloudapi.cn%2F' -Method GET -Headers @{Metadata="true"}
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<SQL-RESOURCE-ENCODED>" with header "Metadata: true"
    Then the response status is 200
    # $AccessToken = $content.access_token
    When the VM extracts the access token from the response
    Then the access token's "aud" claim is "<SQL-RESOURCE>"
    And the access token's "oid" claim is "<VM-PRINCIPAL-ID>"
    # $SqlConnection.ConnectionString = "Data Source = <AZURE-SQL-SERVERNAME>; Initial Catalog = <DATABASE>; Encrypt=True;" $SqlConnection.AccessToken = $AccessToken
    When the VM opens a connection to the database with the access token and "Encrypt=True"
    # $SqlCmd.CommandText = "SELECT * from <TABLE>;"
    And the VM runs the query the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#5" sets as CommandText, with <TABLE> as "Inventory"
    Then the result has these rows:
      | Id | Name   | Quantity |
      | 1  | banana | 150      |
      | 2  | orange | 154      |

  @restated:windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/csharp#1
  @claim:001-SQL-10
  Scenario: [2] The .NET sample's "Authentication=Active Directory Managed Identity" connection
    When the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#1" on the database, with VMName as "<VM-NAME>"
    And the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#2" on the database, with VMName as "<VM-NAME>"
    # string connectionString = "Data Source=<AZURE-SQL-SERVERNAME>; Initial Catalog=<DATABASE>; Authentication=Active Directory Managed Identity; Encrypt=True";
    When the VM opens a connection to the database with "Authentication=Active Directory Managed Identity; Encrypt=True"
    And the VM runs the query the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#5" sets as CommandText, with <TABLE> as "Inventory"
    Then the result has these rows:
      | Id | Name   | Quantity |
      | 1  | banana | 150      |
      | 2  | orange | 154      |

  @failure
  Scenario: [3] Without the contained user the login fails
    When the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<SQL-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM opens a connection to the database with the access token and "Encrypt=True"
    Then the connection fails with error 18456 "Login failed for user '<token-identified principal>'."

  @failure
  @claim:001-SQL-07
  Scenario: [4] A contained user without db_datareader cannot read the table
    When the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#1" on the database, with VMName as "<VM-NAME>"
    And the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<SQL-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM opens a connection to the database with the access token and "Encrypt=True"
    And the VM runs the query the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#5" sets as CommandText, with <TABLE> as "Inventory"
    Then the query fails with error 229 "The SELECT permission was denied on the object 'Inventory', database '<DATABASE>', schema 'dbo'."

  @failure
  @claim:001-SQL-11
  Scenario: [5] A token for another resource (Resource Manager) is refused
    When the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#1" on the database, with VMName as "<VM-NAME>"
    And the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#2" on the database, with VMName as "<VM-NAME>"
    And the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<ARM-RESOURCE>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM opens a connection to the database with the access token and "Encrypt=True"
    Then the connection fails with error 18456 "Login failed for user '<token-identified principal>'."

  @failure
  @verbatim:windows-vm-access:create-contained-user/sql#1
  @claim:001-SQL-03 @claim:001-SQL-06 @claim:001-SQL-CB2
  Scenario: [6] A duplicate display name fails CREATE USER; WITH OBJECT_ID picks the VM
    # "If you encounter the error "Principal VMName has a duplicate display name", append the CREATE USER statement with WITH OBJECT_ID='xxx'."
    Given the operator creates a user-assigned identity named "<VM-NAME>" in the resource group
    When the admin tries the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#1" on the database, with VMName as "<VM-NAME>"
    Then the admin's statement fails with error 33131 "Principal '<VM-NAME>' has a duplicate display name. Make the display name unique in Azure Active Directory and execute this statement again."
    # 'xxx' is the object id of the VM's service principal (the article does not say which id)
    When the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#1" with the article's "001-SQL-CB2" appended on the database, with VMName as "<VM-NAME>" and xxx as "<VM-PRINCIPAL-ID>"
    And the admin runs the article's statement "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/grant-access/create-contained-user/sql#2" on the database, with VMName as "<VM-NAME>"
    And the VM sends GET "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<SQL-RESOURCE-ENCODED>" with header "Metadata: true"
    And the VM extracts the access token from the response
    And the VM opens a connection to the database with the access token and "Encrypt=True"
    And the VM runs the query the article's block "windows-vm-access:use-a-windows-vm-system-assigned-managed-identity-to-access-azure-sql-database/access-data/powershell#5" sets as CommandText, with <TABLE> as "Inventory"
    Then the result has these rows:
      | Id | Name   | Quantity |
      | 1  | banana | 150      |
      | 2  | orange | 154      |
