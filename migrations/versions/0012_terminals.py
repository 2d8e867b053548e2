"""the terminal registry: enrolment codes, enrolled browsers, heartbeats and printer status

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:06:27.561926

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enrolment_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'], name=op.f('fk_enrolment_code_created_by_staff_user')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_enrolment_code_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_code')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_enrolment_code_code_digest'))
    )
    with op.batch_alter_table('enrolment_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_code_terminal_id'), ['terminal_id'], unique=False)

    op.create_table('terminal_browser',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_terminal_browser_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_browser')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_terminal_browser_token_digest'))
    )
    with op.batch_alter_table('terminal_browser', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminal_browser_terminal_id'), ['terminal_id'], unique=False)

    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('printer_status', sa.String(length=20), server_default='unknown', nullable=False))
        batch_op.create_check_constraint(op.f('ck_terminal_printer_status'),
                                         "printer_status IN ('offline', 'ok', 'paper_low', 'paper_out', 'unknown')")



def downgrade():
    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_terminal_printer_status'), type_='check')
        batch_op.drop_column('printer_status')
        batch_op.drop_column('last_seen_at')

    with op.batch_alter_table('terminal_browser', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminal_browser_terminal_id'))

    op.drop_table('terminal_browser')
    with op.batch_alter_table('enrolment_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_code_terminal_id'))

    op.drop_table('enrolment_code')
