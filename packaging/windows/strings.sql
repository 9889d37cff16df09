# What wixl cannot write into agent.wxs's MSI, set by packaging/build once the database's code
# page is 936: the Chinese names and messages, and the properties taken from the command line
# into the install (WiX's Secure="yes", which wixl does not know).
UPDATE Property SET Value='迎检材料上传程序' WHERE Property='ProductName'
UPDATE Property SET Value='WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;SERVER;TOKEN;DEPT;EVIDENCEFOLDER' WHERE Property='SecureCustomProperties'
UPDATE ServiceInstall SET DisplayName='迎检材料上传 (Yingjian agent)' WHERE ServiceInstall='AgentService'
UPDATE ServiceInstall SET Description='把本单位的迎检材料文件夹上传到市迎检系统。' WHERE ServiceInstall='AgentService'
UPDATE Directory SET DefaultDir='YINGJIAN|迎检材料' WHERE Directory='EVIDENCEFOLDER'
UPDATE Shortcut SET Name='迎检材料' WHERE Shortcut='EvidenceShortcut'
UPDATE Shortcut SET Description='放入迎检材料的文件夹' WHERE Shortcut='EvidenceShortcut'
UPDATE LaunchCondition SET Description='请给出服务器地址和本单位令牌，例如：msiexec /i yingjian-agent.msi SERVER=http://10.1.2.3:8080 TOKEN=yj_…' WHERE Condition='Installed OR WIX_UPGRADE_DETECTED OR (SERVER AND TOKEN)'
UPDATE LaunchCondition SET Description='已经安装了更新的版本。' WHERE Condition='NOT WIX_DOWNGRADE_DETECTED'
UPDATE Feature SET Title='迎检材料上传程序' WHERE Feature='Main'
