namespace Portal.Tests.Accounts;

/// <summary>The accounts grid's server-side filters, sorts and pages.</summary>
[Collection(AccountsCollection.Name)]
public sealed class GridTests(AccountsFixture nodes)
{
    [Fact]
    public async Task FiltersSortsAndPages_InTheDatabase()
    {
        var prefix = "g" + Guid.NewGuid().ToString("N")[..5];
        foreach (var i in Enumerable.Range(1, 5))
        {
            (await nodes.CreateAccountAsync(nodes.Parent.Api, $"{prefix}{i}", i % 2 == 0 ? nodes.ToMail1 : null)).Expect(HttpStatusCode.Created);
        }

        (await nodes.Parent.Api.PutAsync($"api/v1/accounts/{prefix}3", new { status = "Suspended" })).Expect(HttpStatusCode.OK);

        var firstPage = (await nodes.Parent.Api.GetAsync($"api/v1/accounts?username={prefix}&sort=Username&descending=true&take=2")).Body;
        var secondPage = (await nodes.Parent.Api.GetAsync($"api/v1/accounts?username={prefix}&sort=Username&descending=true&take=2&skip=2")).Body;
        var onMail1 = (await nodes.Parent.Api.GetAsync($"api/v1/accounts?username={prefix}&mailNode={nodes.Mail1Id}")).Body;
        var local = (await nodes.Parent.Api.GetAsync($"api/v1/accounts?username={prefix}&mailNode=local")).Body;
        var suspended = (await nodes.Parent.Api.GetAsync($"api/v1/accounts?username={prefix}&status=Suspended")).Body;
        var byDomain = (await nodes.Parent.Api.GetAsync($"api/v1/accounts?domain={prefix}4.exa")).Body;
        var badFilter = await nodes.Parent.Api.GetAsync("api/v1/accounts?mailNode=somewhere");

        Assert.Equal(5, firstPage.GetProperty("total").GetInt32());
        Assert.Equal([$"{prefix}5", $"{prefix}4"], Names(firstPage));
        Assert.Equal([$"{prefix}3", $"{prefix}2"], Names(secondPage));
        Assert.Equal([$"{prefix}2", $"{prefix}4"], Names(onMail1));
        Assert.Equal([$"{prefix}1", $"{prefix}3", $"{prefix}5"], Names(local));
        Assert.Equal([$"{prefix}3"], Names(suspended));
        Assert.Equal([$"{prefix}4"], Names(byDomain));
        Assert.Equal("query.invalid", badFilter.Code);
    }

    private static string[] Names(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("username").GetString()!).ToArray();
}
