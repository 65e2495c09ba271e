using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Portal.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class MailUsage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "DiskUsageMeasuredAt",
                table: "accounts",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "mailbox_quota_warnings",
                columns: table => new
                {
                    Address = table.Column<string>(type: "character varying(320)", maxLength: 320, nullable: false, collation: "C"),
                    AccountId = table.Column<long>(type: "bigint", nullable: false),
                    Percent = table.Column<int>(type: "integer", nullable: false),
                    WarnedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_mailbox_quota_warnings", x => x.Address);
                    table.ForeignKey(
                        name: "FK_mailbox_quota_warnings_accounts_AccountId",
                        column: x => x.AccountId,
                        principalTable: "accounts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_mailbox_quota_warnings_AccountId",
                table: "mailbox_quota_warnings",
                column: "AccountId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "mailbox_quota_warnings");

            migrationBuilder.DropColumn(
                name: "DiskUsageMeasuredAt",
                table: "accounts");
        }
    }
}
