using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Portal.Infrastructure.Data.Migrations
{
    /// <inheritdoc />
    public partial class OperationCheckpoints : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "operation_checkpoints",
                columns: table => new
                {
                    OperationId = table.Column<Guid>(type: "uuid", nullable: false),
                    StepKey = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Data = table.Column<string>(type: "text", nullable: false),
                    SavedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_operation_checkpoints", x => new { x.OperationId, x.StepKey });
                    table.ForeignKey(
                        name: "FK_operation_checkpoints_operations_OperationId",
                        column: x => x.OperationId,
                        principalTable: "operations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            // Checkpoints of unfinished operations move out of the steps' JSON into the new table.
            migrationBuilder.Sql("""
                INSERT INTO operation_checkpoints ("OperationId", "StepKey", "Data", "SavedAt")
                SELECT o."Id", s->>'Key', s->>'Checkpoint', o."UpdatedAt"
                FROM operations o, jsonb_array_elements(o.steps) s
                WHERE jsonb_typeof(o.steps) = 'array' AND s->>'Checkpoint' IS NOT NULL;
                UPDATE operations SET steps = (SELECT jsonb_agg(s - 'Checkpoint' ORDER BY n) FROM jsonb_array_elements(steps) WITH ORDINALITY AS e(s, n))
                WHERE jsonb_typeof(steps) = 'array' AND jsonb_path_exists(steps, '$[*].Checkpoint');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                UPDATE operations o SET steps = (
                    SELECT jsonb_agg(CASE WHEN c."Data" IS NULL THEN s ELSE s || jsonb_build_object('Checkpoint', c."Data") END ORDER BY n)
                    FROM jsonb_array_elements(o.steps) WITH ORDINALITY AS e(s, n)
                    LEFT JOIN operation_checkpoints c ON c."OperationId" = o."Id" AND c."StepKey" = s->>'Key')
                WHERE o."Id" IN (SELECT "OperationId" FROM operation_checkpoints);
                """);

            migrationBuilder.DropTable(
                name: "operation_checkpoints");
        }
    }
}
