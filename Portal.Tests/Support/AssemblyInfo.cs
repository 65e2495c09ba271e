// Portal runs on Linux only (Maildirs, Unix file modes, syncfs, the mail servers), and so do its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
