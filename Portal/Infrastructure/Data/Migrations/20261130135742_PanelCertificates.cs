using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Portal.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class PanelCertificates : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<long>(
                name: "AccountId",
                table: "tls_certificates",
                type: "bigint",
                nullable: true,
                oldClrType: typeof(long),
                oldType: "bigint");

            migrationBuilder.AddColumn<string>(
                name: "HostName",
                table: "tls_certificates",
                type: "character varying(253)",
                maxLength: 253,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PanelHostName",
                table: "linked_nodes",
                type: "character varying(253)",
                maxLength: 253,
                nullable: true);

            migrationBuilder.AlterColumn<long>(
                name: "AccountId",
                table: "dns_zones",
                type: "bigint",
                nullable: true,
                oldClrType: typeof(long),
                oldType: "bigint");

            migrationBuilder.CreateIndex(
                name: "IX_tls_certificates_HostName",
                table: "tls_certificates",
                column: "HostName",
                unique: true);

            migrationBuilder.AddCheckConstraint(
                name: "ck_tls_certificates_subject",
                table: "tls_certificates",
                sql: "(\"AccountId\" IS NULL) <> (\"HostName\" IS NULL)");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_tls_certificates_HostName",
                table: "tls_certificates");

            migrationBuilder.DropCheckConstraint(
                name: "ck_tls_certificates_subject",
                table: "tls_certificates");

            migrationBuilder.DropColumn(
                name: "HostName",
                table: "tls_certificates");

            migrationBuilder.DropColumn(
                name: "PanelHostName",
                table: "linked_nodes");

            migrationBuilder.AlterColumn<long>(
                name: "AccountId",
                table: "tls_certificates",
                type: "bigint",
                nullable: false,
                defaultValue: 0L,
                oldClrType: typeof(long),
                oldType: "bigint",
                oldNullable: true);

            migrationBuilder.AlterColumn<long>(
                name: "AccountId",
                table: "dns_zones",
                type: "bigint",
                nullable: false,
                defaultValue: 0L,
                oldClrType: typeof(long),
                oldType: "bigint",
                oldNullable: true);
        }
    }
}
