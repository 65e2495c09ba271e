// The benchmarks drive Linux's mail servers and file system, as the tests whose helpers they share do.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
