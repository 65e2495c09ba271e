// Browser tests run one collection at a time: each drives node processes and Chromium, and two cores are enough
// for one such set, not two.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The tests run where the nodes do (Linux): the shared helpers set file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
