namespace Portal.E2E.Tests;

/// <summary>
/// What a person sees at 1366 px and on a phone (390 px): on each page of each area, nothing that can be read or
/// pressed lies over something else, a table's filters stay above its header, and nothing is cut off at the edge.
/// (At 1366 px the accounts grid's "Status" filter lay on its "User name" header; on a phone the app bar's title took
/// three lines and pushed Sign out off the screen.)
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class LayoutTests(BrowserFixture fixture)
{
    private static readonly (int Width, int Height)[] Viewports = [(1366, 900), (390, 844)];

    [Fact]
    public async Task EveryAdminPage_AtDesktopAndPhoneWidths_HasNothingOverlappingOrCutOff()
    {
        await AreaPages.NewPackageAsync(fixture.Node);
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(PortalNode.AdminUserName, fixture.Node.AdminPassword);
        await AssertLaidOutAsync(page, AreaPages.Admin);
    }

    [Fact]
    public async Task TheResellersPages_AtDesktopAndPhoneWidths_HaveNothingOverlappingOrCutOff()
    {
        var (user, password) = await AreaPages.NewResellerAsync(fixture.Node);
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(user, password);
        await AssertLaidOutAsync(page, AreaPages.Reseller);
    }

    [Fact]
    public async Task TheOwnersPages_AtDesktopAndPhoneWidths_HaveNothingOverlappingOrCutOff()
    {
        var (user, password) = await AreaPages.NewOwnerAsync(fixture.Node);
        var page = await fixture.NewPageAsync();
        await new SignInPage(page).SignInAsync(user, password);
        await AssertLaidOutAsync(page, AreaPages.Owner);
    }

    private static async Task AssertLaidOutAsync(IPage page, IEnumerable<string> paths)
    {
        var problems = new List<string>();
        foreach (var (width, height) in Viewports)
        {
            await page.SetViewportSizeAsync(width, height);
            foreach (var path in paths)
            {
                await page.GotoInteractiveAsync(path);
                // Tables load their rows after the first render.
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                await page.WaitForTimeoutAsync(300);
                foreach (var problem in await page.EvaluateAsync<string[]>(LayoutProblemsScript))
                {
                    problems.Add($"{path} at {width}x{height}: {problem}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>
    /// The page's layout problems, each said in words: visible things one can read or press that overlap (neither inside
    /// the other), a table toolbar that reaches into its header, and anything in the app bar or the page that ends past
    /// the window's right edge.
    /// </summary>
    private const string LayoutProblemsScript = """
        () => {
          const problems = [];
          const visible = e => {
            const r = e.getBoundingClientRect();
            const s = getComputedStyle(e);
            return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none' && !e.closest('.mud-popover:not(.mud-popover-open)') && !e.closest('[hidden]');
          };
          const name = e => (e.getAttribute('data-testid') || e.getAttribute('aria-label') || e.textContent || e.tagName).trim().replace(/\s+/g, ' ').slice(0, 40);
          const items = [...document.querySelectorAll('main a, main button, main input:not([type=hidden]), main th, main label, main h1, main .mud-chip, header button, header .mud-typography, header a')]
            .filter(visible);
          const boxes = items.map(e => [e, e.getBoundingClientRect()]);
          for (let i = 0; i < boxes.length; i++) {
            for (let j = i + 1; j < boxes.length; j++) {
              const [a, ra] = boxes[i], [b, rb] = boxes[j];
              if (a.contains(b) || b.contains(a)) continue;
              // A MudBlazor field's label sits inside its input's box by design.
              if (a.closest('.mud-input-control') && a.closest('.mud-input-control') === b.closest('.mud-input-control')) continue;
              const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
              const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
              if (w > 2 && h > 2) problems.push(`"${name(a)}" overlaps "${name(b)}" (${Math.round(w)}x${Math.round(h)} px)`);
            }
          }
          for (const table of document.querySelectorAll('.mud-table')) {
            const toolbar = table.querySelector('.mud-table-toolbar');
            const head = table.querySelector('thead');
            if (toolbar && head && visible(head)) {
              const bottom = Math.max(...[...toolbar.querySelectorAll('*')].filter(visible).map(e => e.getBoundingClientRect().bottom), toolbar.getBoundingClientRect().bottom);
              if (bottom > head.getBoundingClientRect().top + 1) problems.push(`the filters of a table reach ${Math.round(bottom - head.getBoundingClientRect().top)} px into its header`);
            }
          }
          for (const e of items) {
            const r = e.getBoundingClientRect();
            if (r.right > window.innerWidth + 1 && !e.closest('.mud-table-container')) problems.push(`"${name(e)}" ends ${Math.round(r.right - window.innerWidth)} px past the window's edge`);
          }
          const title = document.querySelector('[data-testid=area-title]');
          if (title && title.getBoundingClientRect().height > 40) problems.push(`the app bar's title takes ${Math.round(title.getBoundingClientRect().height)} px (more than one line)`);
          return problems;
        }
        """;
}
