"""paying for others: an order's payer apart from each item's insured person; family members on a visit

``payment_order.person_id`` becomes ``payer_id`` (until now the identified person was both the
payer and the insured person, so the data stays true), each ``payment_order_item`` gets the
insured person of its bill, and a visit keeps the family members added to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 11:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('visit_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('position BETWEEN 1 AND 5', name=op.f('ck_visit_member_position')),
    sa.ForeignKeyConstraint(['person_id'], ['insured_person.id'], name=op.f('fk_visit_member_person_id_insured_person')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_visit_member_visit_id_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_member')),
    sa.UniqueConstraint('visit_id', 'person_id', name='uq_visit_member_person'),
    sa.UniqueConstraint('visit_id', 'position', name='uq_visit_member_position')
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidate_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_visit_candidate_id_insured_person'), 'insured_person', ['candidate_id'], ['id'])

    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_order_person_created')
        batch_op.drop_index(batch_op.f('ix_payment_order_person_id'))
        batch_op.drop_constraint(batch_op.f('fk_payment_order_person_id_insured_person'), type_='foreignkey')
        batch_op.alter_column('person_id', new_column_name='payer_id', existing_type=sa.Integer(), existing_nullable=False)
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_payment_order_payer_id_insured_person'), 'insured_person', ['payer_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_payment_order_payer_id'), ['payer_id'], unique=False)
        batch_op.create_index('ix_payment_order_payer_created', ['payer_id', 'created_at'], unique=False)

    with op.batch_alter_table('payment_order_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
    # every item so far insured the person of its bill
    op.execute("UPDATE payment_order_item SET person_id = (SELECT bill.person_id FROM bill WHERE bill.id = payment_order_item.bill_id)")
    with op.batch_alter_table('payment_order_item', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_payment_order_item_person_id'), ['person_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payment_order_item_person_id_insured_person'), 'insured_person', ['person_id'], ['id'])


def downgrade():
    """Back to one person per order: the payer. (An order paid for a family keeps its items; only
    who each item insured is no longer recorded apart from its bill.)"""
    with op.batch_alter_table('payment_order_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_order_item_person_id_insured_person'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_order_item_person_id'))
        batch_op.drop_column('person_id')

    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_order_payer_created')
        batch_op.drop_index(batch_op.f('ix_payment_order_payer_id'))
        batch_op.drop_constraint(batch_op.f('fk_payment_order_payer_id_insured_person'), type_='foreignkey')
        batch_op.alter_column('payer_id', new_column_name='person_id', existing_type=sa.Integer(), existing_nullable=False)
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_payment_order_person_id_insured_person'), 'insured_person', ['person_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_payment_order_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_payment_order_person_created', ['person_id', 'created_at'], unique=False)

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_visit_candidate_id_insured_person'), type_='foreignkey')
        batch_op.drop_column('candidate_id')

    op.drop_table('visit_member')
