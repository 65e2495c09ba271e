using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Portal.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class Dedistribution : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "LastMailBytes",
                table: "accounts",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "LastMailMeasuredAt",
                table: "accounts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "LastMailMessages",
                table: "accounts",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "MailRedirectAddress",
                table: "accounts",
                type: "character varying(253)",
                maxLength: 253,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "child_account_deletions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Username = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Domain = table.Column<string>(type: "character varying(253)", maxLength: 253, nullable: false),
                    NodeId = table.Column<Guid>(type: "uuid", nullable: false),
                    NodeAlias = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: false),
                    OperationId = table.Column<Guid>(type: "uuid", nullable: true),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    DueAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    FinishedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    JobId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    Outcome = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_child_account_deletions", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_child_account_deletions_OperationId",
                table: "child_account_deletions",
                column: "OperationId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_child_account_deletions_State_DueAt",
                table: "child_account_deletions",
                columns: new[] { "State", "DueAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "child_account_deletions");

            migrationBuilder.DropColumn(
                name: "LastMailBytes",
                table: "accounts");

            migrationBuilder.DropColumn(
                name: "LastMailMeasuredAt",
                table: "accounts");

            migrationBuilder.DropColumn(
                name: "LastMailMessages",
                table: "accounts");

            migrationBuilder.DropColumn(
                name: "MailRedirectAddress",
                table: "accounts");
        }
    }
}
