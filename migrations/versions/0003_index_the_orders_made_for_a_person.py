"""index the orders made for a person: (person_id, created_at) on payment_order

Making an order counts the orders one terminal made for the person lately (the order limit)
and finds the first of them (the take-over grace): both read this index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:56:39.823190

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.create_index('ix_payment_order_person_created', ['person_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_order_person_created')
