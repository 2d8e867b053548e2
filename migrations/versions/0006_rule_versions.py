"""rule versions: rules from files, kept per version; bills name the rule that priced them

Premium rules gain a version, their file, an active flag (a reloaded file retires the rows it
no longer has, never changing them), the employee-medical and pension fields, the waiting
period after a late enrolment, and a payment window given as dates of the coverage year
instead of months around it. Bills record their rule and waiting period; terminals their
region; enrolments the years uninsured before them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 11:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


NEW_RULE_COLUMNS = (
    ('window_opens', sa.String(length=5), "'09-01'"),
    ('window_opens_year', sa.Integer(), '-1'),
    ('window_closes', sa.String(length=5), "'12-31'"),
    ('window_closes_year', sa.Integer(), '-1'),
    ('waiting_months', sa.Integer(), '3'),
    ('waiting_months_per_gap_year', sa.Integer(), '1'),
    ('employer_rate_per_10000', sa.Integer(), '0'),
    ('supplementary_rate_per_10000', sa.Integer(), '0'),
    ('minimum_years', sa.Integer(), '15'),
    ('version', sa.String(length=40), "''"),
    ('source', sa.String(length=200), "''"),
    ('active', sa.Boolean(), 'true'),
    ('loaded_at', sa.DateTime(), 'CURRENT_TIMESTAMP'),
)
_LAST_DAY = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _window_of_months(opens_before: int, closes_after: int) -> tuple[str, int, str, int]:
    """The old window (months before / into the coverage year) as month-days and years."""
    index = 12 - opens_before  # months from January of the year before
    opens = (f"{index % 12 + 1:02d}-01", index // 12 - 1)
    if closes_after <= 0:
        closes = ("12-31", -1)
    else:
        month = min(closes_after, 12)
        closes = (f"{month:02d}-{_LAST_DAY[month - 1]:02d}", 0)
    return opens[0], opens[1], closes[0], closes[1]


def upgrade():
    with op.batch_alter_table('premium_rule', schema=None) as batch_op:
        for name, kind, default in NEW_RULE_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default=sa.text(default)))
    bind = op.get_bind()
    rule = sa.table('premium_rule', sa.column('id'), sa.column('window_opens_months_before'),
                    sa.column('window_closes_months_after'), sa.column('window_opens'), sa.column('window_opens_year'),
                    sa.column('window_closes'), sa.column('window_closes_year'), sa.column('version'))
    for row in bind.execute(sa.select(rule.c.id, rule.c.window_opens_months_before, rule.c.window_closes_months_after)).all():
        opens, opens_year, closes, closes_year = _window_of_months(row[1], row[2])
        bind.execute(rule.update().where(rule.c.id == row[0]).values(
            window_opens=opens, window_opens_year=opens_year, window_closes=closes, window_closes_year=closes_year,
            version='before-0006'))
    with op.batch_alter_table('premium_rule', schema=None) as batch_op:
        batch_op.drop_column('window_opens_months_before')
        batch_op.drop_column('window_closes_months_after')

    with op.batch_alter_table('bill', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('waiting_months', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.create_foreign_key(batch_op.f('fk_bill_rule_id_premium_rule'), 'premium_rule', ['rule_id'], ['id'])

    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_terminal_region_id_region'), 'region', ['region_id'], ['id'])

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gap_years', sa.Integer(), nullable=False, server_default=sa.text('0')))


def downgrade():
    """Back to windows in months; retired rule rows go (only active ones were ever used again)."""
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_column('gap_years')

    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_terminal_region_id_region'), type_='foreignkey')
        batch_op.drop_column('region_id')

    with op.batch_alter_table('bill', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bill_rule_id_premium_rule'), type_='foreignkey')
        batch_op.drop_column('waiting_months')
        batch_op.drop_column('rule_id')

    with op.batch_alter_table('premium_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_opens_months_before', sa.Integer(), nullable=False, server_default=sa.text('4')))
        batch_op.add_column(sa.Column('window_closes_months_after', sa.Integer(), nullable=False, server_default=sa.text('0')))
    bind = op.get_bind()
    rule = sa.table('premium_rule', sa.column('id'), sa.column('active'), sa.column('window_opens'),
                    sa.column('window_opens_year'), sa.column('window_closes'), sa.column('window_closes_year'),
                    sa.column('window_opens_months_before'), sa.column('window_closes_months_after'))
    bind.execute(rule.delete().where(rule.c.active.is_(False)))
    for row_id, opens, opens_year, closes, closes_year in bind.execute(sa.select(
            rule.c.id, rule.c.window_opens, rule.c.window_opens_year, rule.c.window_closes, rule.c.window_closes_year)).all():
        before = max(0, min(12, -12 * opens_year - int(opens[:2]) + 1)) if opens_year < 0 else 0
        after = int(closes[:2]) if closes_year >= 0 else 0
        bind.execute(rule.update().where(rule.c.id == row_id).values(window_opens_months_before=before,
                                                                     window_closes_months_after=after))
    with op.batch_alter_table('premium_rule', schema=None) as batch_op:
        for name, _, _ in reversed(NEW_RULE_COLUMNS):
            batch_op.drop_column(name)
