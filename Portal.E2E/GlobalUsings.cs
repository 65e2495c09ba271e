// The namespaces most browser tests use: HTTP, Playwright, xunit, the shared test support and these tests' own.
global using System.Net;
global using Microsoft.Playwright;
global using Portal.E2E.Pages;
global using Portal.E2E.Support;
global using Portal.Tests.Support;
global using Xunit;
