// The namespaces nearly every file of the engines uses, and the engines' own. A file's own usings are what only that
// file needs.
global using System.Globalization;
global using System.Text;
global using System.Text.Json;
global using Hangfire;
global using Microsoft.Extensions.Logging;
global using Portal.Jobs.Common;
global using Portal.Jobs.Hosting;
global using Portal.Jobs.Mail;
global using Portal.Jobs.Nodes;
global using Portal.Jobs.Operations;
global using Portal.Jobs.SelfCheck;
