"""end of day: each closed business day, and the counters' cash counted at its close

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 03:20:38.245559

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('day_close',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by'], ['staff_user.id'], name=op.f('fk_day_close_closed_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_day_close')),
    sa.UniqueConstraint('closed_at', name=op.f('uq_day_close_closed_at')),
    sa.UniqueConstraint('day', name=op.f('uq_day_close_day'))
    )
    op.create_table('drawer_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day_close_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('expected_fen', sa.Integer(), nullable=False),
    sa.Column('counted_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint('counted_fen >= 0', name=op.f('ck_drawer_count_counted')),
    sa.ForeignKeyConstraint(['day_close_id'], ['day_close.id'], name=op.f('fk_drawer_count_day_close_id_day_close')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_drawer_count_terminal_id_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drawer_count')),
    sa.UniqueConstraint('day_close_id', 'terminal_id', name='uq_drawer_count_terminal')
    )
    with op.batch_alter_table('drawer_count', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drawer_count_day_close_id'), ['day_close_id'], unique=False)



def downgrade():
    with op.batch_alter_table('drawer_count', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drawer_count_day_close_id'))

    op.drop_table('drawer_count')
    op.drop_table('day_close')
