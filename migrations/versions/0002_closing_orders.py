"""closing orders: a closer claims an order (status 'closing') before it cancels the trade

closing_at: since when, so the sweep can take over a close whose closer died; close_target:
where the order goes if the provider closes the trade unpaid.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:39:57.416369

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closing_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('close_target', sa.String(length=20), nullable=True))



def downgrade():
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_column('close_target')
        batch_op.drop_column('closing_at')

