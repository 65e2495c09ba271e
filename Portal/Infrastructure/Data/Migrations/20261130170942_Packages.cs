using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Portal.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class Packages : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "MaxAccounts",
                table: "reseller_settings",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "MaxDiskMegabytes",
                table: "reseller_settings",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "PackageId",
                table: "accounts",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "packages",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Features = table.Column<List<string>>(type: "text[]", nullable: false),
                    Ipv6Enabled = table.Column<bool>(type: "boolean", nullable: false),
                    MailQuotaMegabytes = table.Column<int>(type: "integer", nullable: true),
                    MaxMailboxes = table.Column<int>(type: "integer", nullable: true),
                    MailRouting = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    MailNodeId = table.Column<Guid>(type: "uuid", nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    LowerName = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, computedColumnSql: "lower(\"Name\")", stored: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_packages", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_accounts_PackageId",
                table: "accounts",
                column: "PackageId");

            migrationBuilder.CreateIndex(
                name: "IX_packages_LowerName",
                table: "packages",
                column: "LowerName",
                unique: true);

            migrationBuilder.AddForeignKey(
                name: "FK_accounts_packages_PackageId",
                table: "accounts",
                column: "PackageId",
                principalTable: "packages",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_accounts_packages_PackageId",
                table: "accounts");

            migrationBuilder.DropTable(
                name: "packages");

            migrationBuilder.DropIndex(
                name: "IX_accounts_PackageId",
                table: "accounts");

            migrationBuilder.DropColumn(
                name: "MaxAccounts",
                table: "reseller_settings");

            migrationBuilder.DropColumn(
                name: "MaxDiskMegabytes",
                table: "reseller_settings");

            migrationBuilder.DropColumn(
                name: "PackageId",
                table: "accounts");
        }
    }
}
